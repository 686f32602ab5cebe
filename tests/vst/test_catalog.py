"""The catalog is data: style folders' ``style.json`` files and a configured list of Hub repos; no painting in code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.model_fixtures import make_tiny_checkpoint
from vst.catalog import (
    Style,
    check_slug,
    get_style,
    hub_style_repos,
    load_catalog,
    parse_repo_ids,
    read_style_file,
    write_style_file,
)
from vst.errors import StyleNotFoundError, VSTError
from vst.hub import installed_styles

MATISSE = Style("woman-with-a-hat", "Woman with a Hat", "Henri Matisse", "1905", "https://example.org/matisse",
                "public domain")


@pytest.mark.parametrize("slug", ["woman-with-a-hat", "udnie", "composition-vii", "no-5-1948"])
def test_valid_slugs(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize("slug", ["Woman", "woman_with", "-a", "a-", "a--b", "a b", "../x", "", "x" * 65])
def test_invalid_slugs(slug: str) -> None:
    with pytest.raises(StyleNotFoundError, match="invalid style slug"):
        check_slug(slug)


def test_style_json_round_trip_and_caption(tmp_path: Path) -> None:
    path = write_style_file(MATISSE, tmp_path / "woman-with-a-hat")
    assert json.loads(path.read_text()) == {"slug": "woman-with-a-hat", "title": "Woman with a Hat",
                                            "artist": "Henri Matisse", "year": "1905",
                                            "source_url": "https://example.org/matisse",
                                            "painting_license": "public domain", "thumbnail": "painting.jpg",
                                            "preview": "preview.jpg"}
    style = read_style_file(path)
    assert style == MATISSE and style.folder == path.parent and style.repo_id == "vst-video/vst-woman-with-a-hat"
    assert style.caption == "Woman with a Hat — Henri Matisse, 1905"
    assert Style("x", "Untitled").caption == "Untitled"
    assert style.thumbnail_path is None  # no painting.jpg in the folder yet
    (path.parent / "painting.jpg").write_bytes(b"jpeg")
    assert style.thumbnail_path == path.parent / "painting.jpg"


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "cannot read style metadata"),
    ('["a list"]', "expected a JSON object"),
    ('{"slug": "x"}', "missing title"),
    ('{"slug": "x", "title": "X", "year": 1905}', "'year' must be a str"),
    ('{"slug": "X Y", "title": "X"}', "invalid style slug"),
    ('{"slug": "x", "title": "X", "thumbnail": "../../etc/passwd"}', "must be a plain file name"),
])
def test_invalid_style_json_is_reported_in_one_line(tmp_path: Path, content: str, problem: str) -> None:
    (tmp_path / "style.json").write_text(content)
    with pytest.raises(StyleNotFoundError, match=problem) as err:
        read_style_file(tmp_path / "style.json")
    assert "\n" not in str(err.value) and str(tmp_path / "style.json") in str(err.value)


def test_the_bundled_folder_is_the_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "styles"
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(root))
    monkeypatch.delenv("VST_HUB_STYLES", raising=False)
    assert list(load_catalog()) == [] and load_catalog().problems == ()
    write_style_file(MATISSE, root / "woman-with-a-hat")
    write_style_file(Style("b-style", "B", order=2), root / "b-style")
    write_style_file(Style("a-style", "A", order=1), root / "a-style")
    make_tiny_checkpoint(root / "legacy" / "temporal")  # an export older than style.json
    write_style_file(Style("other", "Other"), root / "misnamed")
    (root / "broken").mkdir()
    (root / "broken" / "style.json").write_text("{")
    (root / "notes").mkdir()  # neither metadata nor checkpoints: not a style, no problem

    catalog = load_catalog()
    assert list(catalog.styles) == ["a-style", "b-style", "legacy", "woman-with-a-hat"]  # order, then slug
    assert catalog["woman-with-a-hat"] == MATISSE and "legacy" in catalog and len(catalog) == 4
    assert catalog.styles["legacy"].caption == "legacy"
    assert [p.split(":")[0].split(" ")[0] for p in catalog.problems] == [
        str(root / "broken" / "style.json"), str(root / "legacy"), str(root / "misnamed" / "style.json")]
    assert "without title, artist or year" in catalog.problems[1] and "left out" in catalog.problems[2]
    with pytest.raises(StyleNotFoundError, match="^unknown style 'mona-lisa'; known styles: a-style, b-style, legacy, "
                                                 "woman-with-a-hat; not readable: "):
        get_style("mona-lisa")
    assert get_style("legacy", catalog) is catalog["legacy"]
    assert [s.slug for s in installed_styles()] == ["legacy"]  # the only one with a checkpoint
    assert [s.slug for s in installed_styles(catalog=catalog)] == ["legacy"]

    write_style_file(Style("woman-with-a-hat", "Woman with a Hat (1905)"), root / "woman-with-a-hat")
    assert catalog["woman-with-a-hat"] == MATISSE  # a loaded catalog is a value: it never changes
    assert load_catalog()["woman-with-a-hat"].title == "Woman with a Hat (1905)"  # loading again reads the change
    with pytest.raises(TypeError):
        catalog.styles["x"] = MATISSE  # type: ignore[index]


def test_hub_repos_from_the_variable_and_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_repo_ids("a/b, c/d\n  e/f # comment\n# g/h\n") == ["a/b", "c/d", "e/f"]
    listing = tmp_path / "hub_styles.txt"
    listing.write_text("# this Space's styles\nme/vst-one\nme/vst-two  # added later\n")
    monkeypatch.setenv("VST_HUB_STYLES", "me/vst-zero,me/vst-one")
    monkeypatch.setenv("VST_HUB_STYLES_FILE", str(listing))
    assert hub_style_repos() == ["me/vst-zero", "me/vst-one", "me/vst-two"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VST_HUB_STYLES_FILE")
    assert hub_style_repos() == ["me/vst-zero", "me/vst-one", "me/vst-two"]  # ./hub_styles.txt by default


def test_unreadable_hub_styles_are_problems_not_failures(empty_checkpoint_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline with an empty Hub cache (as the tests run): the listed repos are reported, the bundled ones stay."""
    write_style_file(MATISSE, empty_checkpoint_dir / "woman-with-a-hat")
    monkeypatch.setenv("VST_HUB_STYLES", "me/vst-absent, not-a-repo-id")
    catalog = load_catalog()
    assert list(catalog.styles) == ["woman-with-a-hat"]
    assert catalog.problems == ("me/vst-absent: no style.json in the local Hub cache (the Hub is offline)",
                                "'not-a-repo-id' in the Hub style list is not a repo id (owner/name)")


def test_training_commands_take_any_slug_and_need_a_title_for_a_new_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``bundle``/``distill``/``export`` validate the slug, and refuse a new one without ``--title`` before training."""
    from training.__main__ import build_parser, main
    from training.metadata import resolve_metadata

    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(tmp_path / "bundled"))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--slug", "Woman With A Hat", "--temporal", "t", "--framewise", "f",
                                   "--style-image", "p.jpg", "--out", "o"])
    assert "invalid style slug 'Woman With A Hat'" in capsys.readouterr().err

    assert main(["bundle", "--slug", "woman-with-a-hat", "--style-image", str(tmp_path / "p.jpg"),
                 "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("error: 'woman-with-a-hat' is a new style: give its metadata with --title (and "
                                       "--artist, --year, --source-url, --painting-license)\n")
    assert not (tmp_path / "runs").exists()  # nothing was trained

    # --warmup-steps 0 branches from --init-from, so it needs one, said before training
    assert main(["bundle", "--slug", "udnie", "--title", "Udnie", "--style-image", str(tmp_path / "p.jpg"),
                 "--warmup-steps", "0",
                 "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("error: --warmup-steps 0 needs --init-from: the checkpoint both branches "
                                       "start from\n")
    assert not (tmp_path / "runs").exists()

    args = build_parser().parse_args(["export", "--slug", "woman-with-a-hat", "--title", "Woman with a Hat",
                                      "--year", "1905", "--temporal", "t", "--framewise", "f", "--style-image", "p",
                                      "--out", "o"])
    assert resolve_metadata("woman-with-a-hat", args) == Style("woman-with-a-hat", "Woman with a Hat", year="1905")
    # an existing style folder keeps its metadata; flags override single fields
    write_style_file(MATISSE, tmp_path / "out")
    args = build_parser().parse_args(["distill", "--slug", "woman-with-a-hat", "--style-image", "p", "--year", "1905–06"])
    assert resolve_metadata("woman-with-a-hat", args, folder=tmp_path / "out") == Style(
        **{**MATISSE.metadata(), "year": "1905–06"})  # type: ignore[arg-type]
    with pytest.raises(VSTError, match="belongs to style 'woman-with-a-hat', not 'udnie'"):
        resolve_metadata("udnie", args, folder=tmp_path / "out")
