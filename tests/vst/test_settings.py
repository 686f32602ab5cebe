"""Every ``VST_*`` environment variable is read in one place, :mod:`vst.settings`, which documents each; the settings
table of docs/app.md lists the same variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vst import settings
from vst.settings import ConfigError, HubStylesFile

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bVST_[A-Z0-9_]+\b")
#: The code that may read the environment: the library, training and the app.
SOURCES = sorted([*(REPO / "vst").rglob("*.py"), *(REPO / "training").rglob("*.py"), REPO / "app.py"])


def documented() -> set[str]:
    """The variables the settings module's docstring documents: each starts a line, with its default."""
    return set(re.findall(r"^``(VST_[A-Z0-9_]+)`` = ", settings.__doc__ or "", re.MULTILINE))


def test_only_the_settings_module_reads_vst_variables() -> None:
    settings_file = Path(settings.__file__).resolve()
    offenders = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
                 for path in SOURCES if path.resolve() != settings_file
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if ("environ" in line or "getenv" in line) and NAME.search(line)]
    assert not offenders, "read VST_* variables through vst.settings:\n" + "\n".join(offenders)


def test_every_variable_is_documented_once_in_the_settings_module_and_listed_in_the_docs() -> None:
    named = {name for path in SOURCES for name in NAME.findall(path.read_text(encoding="utf-8"))}
    doc = settings.__doc__ or ""
    assert named <= documented(), f"undocumented in vst/settings.py: {sorted(named - documented())}"
    assert all(len(re.findall(rf"^``{name}`` = ", doc, re.MULTILINE)) == 1 for name in documented())
    table = set(re.findall(r"^\| `(VST_[A-Z0-9_]+)`", (REPO / "docs" / "app.md").read_text(), re.MULTILINE))
    assert table == documented()


def test_the_variables_are_read_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VST_HUB_STYLES_FILE", raising=False)
    assert settings.hub_styles_file() == HubStylesFile(Path("hub_styles.txt"), named=False)
    monkeypatch.setenv("VST_HUB_STYLES_FILE", "")
    assert settings.hub_styles_file() == HubStylesFile(None, named=True)  # set empty: no file
    monkeypatch.setenv("VST_HUB_STYLES_FILE", str(tmp_path / "list.txt"))
    assert settings.hub_styles_file() == HubStylesFile(tmp_path / "list.txt", named=True)

    assert settings.any_painting_repo({}) == "vst-video/vst-any-painting"
    assert settings.any_painting_repo({"VST_ANY_PAINTING_REPO": " "}) is None
    assert settings.checkpoint_dir({}) is None and settings.checkpoint_dir({"VST_CHECKPOINT_DIR": "x"}) == Path("x")
    assert settings.hub_namespace({}) == "vst-video" and settings.hub_namespace({"VST_HUB_NAMESPACE": "me"}) == "me"
    assert settings.cache_root({"VST_CACHE_DIR": "  "}) == Path.home() / ".cache" / "vst"

    assert settings.votes_per_minute({}) == settings.DEFAULT_VOTES_PER_MINUTE
    assert settings.votes_per_minute({"VST_VOTES_PER_MINUTE": " 3 "}) == 3
    with pytest.raises(ConfigError, match=r"^VST_VOTES_PER_MINUTE must be a whole number of at least 1, not '0'$"):
        settings.votes_per_minute({"VST_VOTES_PER_MINUTE": "0"})
    assert not settings.trust_proxy({"VST_TRUST_PROXY": "yes"})
    assert settings.trust_proxy({"VST_TRUST_PROXY": "1"}) and settings.trust_proxy({"SPACE_ID": "me/space"})
    assert settings.votes_db({"VST_VOTES_DB": ""}) is None and settings.vote_salt({}) is None
