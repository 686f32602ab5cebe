"""Every non-test module of the project stays short enough to read in one sitting: at most 500 lines (issue 28's
bar). A module that grows past it splits along its own seams, as ``vst/video.py`` did into the reader, the writer and
the MP4 checks."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 500
#: The project's code outside the tests: the library, the app, training and the benchmarks.
CODE = ("app.py", "vst", "training", "benchmarks")


def project_code(root: Path) -> list[Path]:
    """Every ``.py`` file of :data:`CODE` under ``root``."""
    files: list[Path] = []
    for name in CODE:
        path = root / name
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def long_modules(root: Path, limit: int = MAX_LINES) -> dict[str, int]:
    """``{relative path: lines}`` for each module of :func:`project_code` over ``limit`` lines."""
    counts = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in project_code(root)}
    return {path: n for path, n in counts.items() if n > limit}


def test_the_project_has_code_to_count() -> None:
    files = project_code(REPO)
    assert REPO / "app.py" in files and REPO / "vst" / "pipeline.py" in files and len(files) > 50


def test_no_module_over_500_lines() -> None:
    assert long_modules(REPO) == {}


def test_a_long_module_is_caught(tmp_path: Path) -> None:
    (tmp_path / "vst").mkdir()
    (tmp_path / "vst" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    (tmp_path / "vst" / "short.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    assert long_modules(tmp_path) == {"vst/long.py": MAX_LINES + 1}
