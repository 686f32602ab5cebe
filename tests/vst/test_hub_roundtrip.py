"""A new painting from export to the Hub and back, through ``huggingface_hub`` for real.

The Hub is :class:`tests.support.hub_server.HubStandIn`, an HTTP server on 127.0.0.1 speaking the Hub's API;
``HF_ENDPOINT`` points the unchanged client at it. Our commands run as a maintainer and the Space run them: ``python -m
training export`` (a new slug, metadata flags), ``python -m training push``, then, from an empty Hub cache with the repo
listed in a ``VST_HUB_STYLES_FILE``, ``python -m vst stylize``, ``python -m vst styles`` and the app's gallery; last,
offline, ``python -m vst styles`` from the cache alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import HfApi, ModelCard, constants
from PIL import Image

from tests.support.clips import make_clip
from tests.support.hub_server import HubStandIn
from tests.support.model_fixtures import make_tiny_checkpoint, make_tiny_fast_checkpoint
from training.push import push
from vst.catalog import Style, read_style_file, write_style_file
from vst.errors import VSTError
from vst.mp4_checks import is_browser_playable
from vst.video import probe

REPO = Path(__file__).resolve().parents[2]
TOKEN = "hf_stand_in_token"
SLUG = "woman-with-a-hat"
REPO_ID = "tester/vst-woman-with-a-hat"
METADATA = {"title": "Woman with a Hat", "artist": "Henri Matisse", "year": "1905",
            "source_url": "https://commons.wikimedia.org/wiki/File:Matisse-Woman-with-a-Hat.jpg",
            "painting_license": "public domain in the United States"}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python <args>`` in the repository with exactly ``env`` (plus PATH and PYTHONPATH): no inherited Hub settings."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=full, capture_output=True, text=True, timeout=300)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m training export`` of a new painting (tiny random networks, tiny held-out clips, a 700×500 image)."""
    tmp_path = tmp_path_factory.mktemp("maintainer")
    runs = tmp_path / "runs"
    make_tiny_checkpoint(runs / "temporal", seed=1)
    make_tiny_checkpoint(runs / "framewise", seed=2)
    make_tiny_fast_checkpoint(runs / "fast", seed=3)
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    for seed, name in enumerate(("bikes.mp4", "carphone.mp4")):
        make_clip(data / "raw" / name, width=64, height=48, num_frames=4, seed=seed)
    y, x = np.mgrid[0:500, 0:700]
    Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)).save(tmp_path / "matisse.png")
    out = tmp_path / "exports" / SLUG
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in METADATA.items()]
    proc = run(["-m", "training", "export", "--slug", SLUG, *flags, "--repo-id", REPO_ID,
                "--temporal", str(runs / "temporal"), "--framewise", str(runs / "framewise"), "--fast", str(runs / "fast"),
                "--style-image", str(tmp_path / "matisse.png"), "--data-dir", str(data), "--out", str(out)],
               {"HF_HUB_OFFLINE": "1", "VST_CHECKPOINT_DIR": str(tmp_path / "no-bundled-styles")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_export_of_a_new_painting_carries_its_metadata(exported: Path) -> None:
    style = read_style_file(exported / "style.json")
    assert style == Style(SLUG, **METADATA) and style.metadata() == {"slug": SLUG, **METADATA, "thumbnail": "painting.jpg",
                                                                      "preview": "preview.jpg"}
    assert Image.open(exported / "painting.jpg").size == (512, 366)  # long side 512, aspect kept
    card = (exported / "README.md").read_text()
    assert ModelCard(card).data.to_dict()["vst_style"] == style.metadata()
    assert "**Woman with a Hat** by **Henri Matisse** (1905)" in card and f"VST_HUB_STYLES={REPO_ID}" in card
    assert {"temporal/model.safetensors", "framewise/config.json", "fast/model.safetensors", "preview.jpg",
            "metrics.json"} <= set(tree(exported))


def test_a_new_painting_goes_to_the_hub_and_back(exported: Path, tmp_path: Path, clip_mp4: Path) -> None:
    with HubStandIn(TOKEN) as hub:
        # the maintainer pushes the export
        pushed = run(["-m", "training", "push", str(exported), "--repo-id", REPO_ID],
                     {"HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "maintainer-hf")})
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        [(commit, files)] = hub.repos[REPO_ID].commits
        assert pushed.stdout.strip() == f"{hub.url}/{REPO_ID}/commit/{commit}"
        assert files == tree(exported)  # every file, byte for byte, in the export's layout

        # the Space: an empty Hub cache, no bundled style, the repo id in a small file
        listing = tmp_path / "hub_styles.txt"
        listing.write_text(f"# styles of this Space\n{REPO_ID}\n")
        space = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "space-hf"), "VST_HUB_STYLES_FILE": str(listing),
                 "VST_CHECKPOINT_DIR": str(tmp_path / "no-bundled-styles"), "VST_CACHE_DIR": str(tmp_path / "app")}
        out = tmp_path / "styled.mp4"
        script = f"""
import json, sys
from vst.__main__ import main
from vst.app.config import AppConfig
from vst.app.gallery import gallery_styles
from vst.hub import resolve_checkpoint
assert main(["stylize", {str(clip_mp4)!r}, "--style", "{SLUG}", "-o", {str(out)!r}, "-q"]) == 0
print("CHECKPOINT", resolve_checkpoint("{SLUG}", "temporal"))
main(["styles"])
[g] = gallery_styles(AppConfig.from_env())
print("GALLERY", json.dumps([g.slug, g.caption, str(g.preview), sorted(g.variants), g.has_fast]))
"""
        loaded = run(["-c", script], space)
        assert loaded.returncode == 0, loaded.stderr[-3000:]
        resolved = {method: sorted(path.split("/", 5)[5] for m, path in hub.requests if m == method and "/resolve/" in path)
                    for method in ("HEAD", "GET")}
    lines = loaded.stdout.splitlines()

    # each file the Space needs was looked up once (not the card nor the metrics) and downloaded at most once (a blob
    # with an ETag already in the cache, like a second identical config.json, is not downloaded again)
    assert resolved["HEAD"] == sorted(set(files) - {"README.md", "metrics.json"})
    assert set(resolved["GET"]) <= set(resolved["HEAD"]) and len(set(resolved["GET"])) == len(resolved["GET"])
    # stylize used the pushed temporal network
    assert is_browser_playable(out) and probe(out).num_frames == probe(clip_mp4).num_frames
    checkpoint = Path(next(line for line in lines if line.startswith("CHECKPOINT")).split(" ", 1)[1])
    assert checkpoint.parts[-2:] == (commit, "temporal") and tree(checkpoint) == tree(exported / "temporal")
    # styles, before the gallery fetched the other variants: only the downloaded one counts as installed
    assert f"{SLUG}  Woman with a Hat — Henri Matisse, 1905  [temporal]  ({REPO_ID})" in lines
    # the gallery: caption, a card of the pushed painting beside the style's own preview (both from the Hub cache),
    # every variant downloaded
    slug, caption, card, variants, has_fast = json.loads(lines[-1].split(" ", 1)[1])
    assert (slug, caption, variants, has_fast) == (SLUG, "Woman with a Hat — Henri Matisse, 1905",
                                                   ["fast", "framewise", "temporal"], True)
    from vst.app.gallery import gallery_card

    (tmp_path / "expected-card").mkdir()
    expected = gallery_card(SLUG, exported / "painting.jpg", exported / "preview.jpg", tmp_path / "expected-card")
    assert Path(card).read_bytes() == expected.read_bytes()

    # later, with the Hub unreachable: the catalog and the checkpoints come from the cache alone
    offline = run(["-m", "vst", "styles"], {**space, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert offline.returncode == 0, offline.stderr[-3000:]
    assert offline.stdout.splitlines() == [
        f"{SLUG}  Woman with a Hat — Henri Matisse, 1905  [temporal, framewise, fast]  ({REPO_ID})"]


def test_push_refused_by_the_hub_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "style"
    make_tiny_checkpoint(folder / "temporal")
    write_style_file(Style("x", "X"), folder)
    (folder / "README.md").write_text("---\nlicense: [unclosed\n---\n")
    with HubStandIn(TOKEN) as hub:
        with pytest.raises(VSTError, match="^cannot push to me/vst-x: HF_HUB_OFFLINE is set"):  # as the tests run
            push(folder, "me/vst-x", api=HfApi(endpoint=hub.url, token=TOKEN))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # what HF_HUB_OFFLINE=0 at import would have set
        with pytest.raises(VSTError, match=r"^push to me/vst-x at http://127\.0\.0\.1:\d+ failed: .*401") as err:
            push(folder, "me/vst-x", api=HfApi(endpoint=hub.url, token="hf_wrong"))
        assert "\n" not in str(err.value) and hub.repos == {}
        with pytest.raises(VSTError, match="Invalid metadata in README.md"):  # the Hub's YAML check
            push(folder, "me/vst-x", api=HfApi(endpoint=hub.url, token=TOKEN))
        assert hub.repos["me/vst-x"].commits == []


def test_the_any_painting_network_goes_to_the_hub_and_back(tmp_path: Path) -> None:
    """``python -m training push`` uploads the bundled any-painting folder; a Space without it bundled pulls the
    variant it needs from the repo named by ``VST_ANY_PAINTING_REPO``, byte for byte, and then finds it offline."""
    from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR

    source, repo = PACKAGE_CHECKPOINT_DIR / ANY_PAINTING, "tester/vst-any-painting"
    with HubStandIn(TOKEN) as hub:
        pushed = run(["-m", "training", "push", str(source), "--repo-id", repo],
                     {"HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "maintainer-hf")})
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        [(_, files)] = hub.repos[repo].commits
        assert files == tree(source)
        space = {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "space-hf"), "VST_ANY_PAINTING_REPO": repo,
                 "VST_CHECKPOINT_DIR": str(tmp_path / "nothing-bundled")}
        script = "from vst.any_painting import any_painting_folder; print(any_painting_folder('temporal'))"
        pulled = run(["-c", script], space)
        assert pulled.returncode == 0, pulled.stderr[-3000:]
    folder = Path(pulled.stdout.strip())
    assert folder.name == "temporal" and tree(folder) == tree(source / "temporal")
    offline = run(["-c", script], {**space, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert offline.returncode == 0 and Path(offline.stdout.strip()) == folder, offline.stderr[-3000:]
