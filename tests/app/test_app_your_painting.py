"""The gallery's *Your painting* card end to end: the real app (tiny styles, the real any-painting network) launched and
driven with ``gradio_client`` through the real upload path — the preview, a refused picture, a stylized clip with
its comparison against the framewise teacher, what another session can reach, and the expiry."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from gradio.utils import get_upload_folder
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests.support.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.app.test_app import first_frame, plot_variants, result_text
from vst.any_painting import any_painting_folder, network_for_picture
from vst.app.blind_vote import YOUR_PAINTING_ROW, PairPool
from vst.app.comparison import FRAMEWISE_LABEL, TEMPORAL_LABEL
from vst.app.config import AppConfig
from vst.app.gallery import CARD_RATIO
from vst.app.votes import VoteStore
from vst.app.your_painting import CAPTION, YOUR_PAINTING, discard_upload, shown_name
from vst.catalog import PACKAGE_CHECKPOINT_DIR, VARIANTS
from vst.fingerprint import checkpoint_digest
from vst.mp4_checks import is_browser_playable
from vst.pipeline import Stylizer
from vst.video import VideoReader, probe

pytestmark = pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS)

TTL_SECONDS = 3.0
#: What the result text adds for a visitor's painting in the fast mode (the default): the fall-back, then the picture.
FALLBACK = (" · The fast network was asked for, but your painting has none yet, so the temporal any-painting network "
            "was used.")
ABOUT = " · Your painting: my-painting.jpg, strength {strength}; the framewise baseline is the teacher itself."
NO_PAINTING = (r"^Upload a picture \(JPEG, PNG or WebP\) for your painting first; pictures are deleted from this "
               r"server a while after their upload\.$")


@dataclass
class PaintingApp:
    url: str
    config: AppConfig
    store: VoteStore

    def client(self) -> Client:
        """A new session; file outputs are left on the server (their URLs are checked)."""
        return Client(self.url, verbose=False, download_files=False)

    def get(self, url: str) -> httpx.Response:
        return httpx.get(url if url.startswith("http") else self.url.rstrip("/") + url, timeout=30)


def launch(tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str]) -> Iterator[PaintingApp]:
    root = make_tiny_styles(tmp_path_factory.mktemp(f"{name}-styles"), any_painting=True)
    cache = tmp_path_factory.mktemp(f"{name}-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0", **env})
        store = VoteStore(cache / "votes.sqlite3")
        with running_app(config, store, PairPool(config.showcase_dir, {})) as url:
            yield PaintingApp(url, config, store)
        store.close()


@pytest.fixture(scope="module")
def painting_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaintingApp]:
    """One tiny style and the bundled any-painting network."""
    yield from launch(tmp_path_factory, "painting", {})


@pytest.fixture(scope="module")
def painting_jpg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real painting (the bundled thumbnail of The Scream), as a visitor's file."""
    path = tmp_path_factory.mktemp("visitor") / "my-painting.jpg"
    shutil.copyfile(PACKAGE_CHECKPOINT_DIR / "the-scream" / "painting.jpg", path)
    return path


def open_painting(client: Client, picture: Path, strength: float = 1.0) -> dict[str, Any]:
    """Upload ``picture`` as the session's painting: the panel's outputs by name (the preview's URL or ``None``)."""
    cleared, note, preview, caption, selected = client.predict(handle_file(picture), strength,
                                                               api_name="/your_painting")
    assert cleared is None  # the upload field is emptied: its file is gone
    value = preview.get("value") if isinstance(preview, dict) else None
    return {"note": note["value"], "note_shown": note["visible"], "preview": value["url"] if value else None,
            "preview_shown": preview.get("elem_classes") == [], "caption": caption, "selected": selected}


def holding(folders: list[Path], data: bytes) -> list[Path]:
    """The files under ``folders`` whose content is ``data``."""
    digest = hashlib.sha256(data).hexdigest()
    return [p for folder in folders if folder.is_dir() for p in folder.rglob("*")
            if p.is_file() and p.stat().st_size == len(data) and hashlib.sha256(p.read_bytes()).hexdigest() == digest]


def served_image(app: PaintingApp, url: str) -> np.ndarray:
    response = app.get(url)
    assert response.status_code == 200, url
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(np.int16)


def test_the_gallery_ends_with_the_your_painting_card(painting_app: PaintingApp) -> None:
    config = httpx.get(painting_app.url + "config", timeout=30).json()
    gallery = next(c["props"] for c in config["components"] if c["props"].get("elem_id") == "style-gallery")
    assert [item["caption"] for item in gallery["value"]] == ["The Starry Night — Vincent van Gogh, 1889", CAPTION]
    card = served_image(painting_app, gallery["value"][-1]["image"]["url"])
    assert card.shape == (240, round(240 * CARD_RATIO), 3)  # the bundled cards' shape


def test_an_uploaded_painting_gives_its_preview_and_its_file_is_deleted_at_once(painting_app: PaintingApp,
                                                                              painting_jpg: Path) -> None:
    data = painting_jpg.read_bytes()
    # Gradio keeps an upload under the digest of its content: the same picture always lands in the same place. It is
    # served there (to anyone with its URL) until the app opens it as a painting...
    response = httpx.post(painting_app.url + "gradio_api/upload", timeout=30,
                          files={"files": (painting_jpg.name, data, "image/jpeg")})
    uploaded = response.json()[0]
    assert painting_app.get(f"/gradio_api/file={uploaded}").status_code == 200

    client = painting_app.client()
    started = time.monotonic()
    shown = open_painting(client, painting_jpg)
    seconds = time.monotonic() - started
    assert seconds < 10, seconds  # about half a second on an idle machine (this one also trains)
    assert (shown["note"], shown["note_shown"], shown["preview_shown"]) == ("", False, True)
    assert shown["caption"] == "**my-painting.jpg** (left) on a photo (right), at strength 1."
    assert shown["selected"] == "Selected style: **Your painting** (my-painting.jpg)"
    # ... where it is deleted at once: no file of the server holds the picture any more, nor does any URL serve it.
    assert not Path(uploaded).exists()
    assert painting_app.get(f"/gradio_api/file={uploaded}").status_code in (403, 404)
    assert holding([Path(get_upload_folder()), painting_app.config.cache_dir], data) == []

    # The preview is the card the bundled styles show: the whole painting (left) beside its rendering of the photo.
    card = served_image(painting_app, shown["preview"])
    assert card.shape == (240, round(240 * CARD_RATIO), 3)
    with Image.open(painting_jpg) as painting:
        width = min(round(painting.width * 240 / painting.height), round(240 * CARD_RATIO * 0.6))
        expected = np.asarray(painting.convert("RGB").resize((width, 240), Image.LANCZOS)).astype(np.int16)
    assert np.abs(card[:, :width] - expected).mean() < 6  # JPEG noise only
    photo = card[:, width + 6:]

    # Another strength: the preview is rendered again (the painting's own vector, mixed with the photo's), and the
    # previous card stops being served.
    weaker = open_painting(client, painting_jpg, 0.2)
    assert weaker["caption"].endswith("at strength 0.2.")
    assert np.abs(served_image(painting_app, weaker["preview"])[:, width + 6:] - photo).mean() > 3
    assert painting_app.get(shown["preview"]).status_code in (403, 404)


@pytest.mark.parametrize(("name", "make", "message"), [
    ("holiday.png", lambda path: path.write_text("this is a text file, not a picture\n"),
     "holiday.png is not a picture; a style picture must be a JPEG, PNG or WebP file"),
    ("tiny.png", lambda path: Image.new("RGB", (8, 8), (200, 30, 30)).save(path),
     "tiny.png is 8×8 pixels; a style picture needs at least 32 pixels on each side"),
])
def test_a_refused_picture_gets_one_line_no_preview_and_nothing_is_kept(painting_app: PaintingApp,
                                                                        painting_jpg: Path, clip_mp4: Path,
                                                                        tmp_path: Path, name: str, make: Any,
                                                                        message: str) -> None:
    client = painting_app.client()
    good = open_painting(client, painting_jpg)  # the session had a painting: a refused picture replaces it
    folders = set(painting_app.config.jobs_dir.iterdir())
    bad = tmp_path / name
    make(bad)
    shown = open_painting(client, bad)
    assert (shown["note"], shown["note_shown"]) == (message, True)  # one plain line, our message, no server path
    assert "\n" not in shown["note"]
    assert (shown["preview"], shown["preview_shown"], shown["caption"]) == (None, False, "")
    assert shown["selected"] == "Selected style: **Your painting**: upload a picture below."
    # Nothing kept: no new folder, the previous preview gone, the file deleted, and a job has no painting to render.
    assert set(painting_app.config.jobs_dir.iterdir()) <= folders
    assert painting_app.get(good["preview"]).status_code in (403, 404)
    assert holding([Path(get_upload_folder())], bad.read_bytes()) == []
    with pytest.raises(AppError, match=NO_PAINTING):
        client.predict(handle_file(clip_mp4), "your-painting", api_name="/stylize")


def test_stylizing_with_your_painting_compares_it_with_the_framewise_teacher(painting_app: PaintingApp,
                                                                            painting_jpg: Path,
                                                                            clip_mp4: Path) -> None:
    client = Client(painting_app.url, verbose=False)
    client.predict(handle_file(painting_jpg), 1.0, api_name="/your_painting")
    # The fast mode (the default) asked for: there is no fast any-painting network, and the result text says so.
    video, slider, plot, reading, summary = client.predict(handle_file(clip_mp4), "your-painting", True, 1.0,
                                                           api_name="/stylize")
    assert is_browser_playable(video)
    info = probe(video)
    assert (info.width, info.height, info.num_frames, info.has_audio) == (64, 48, 24, True)
    network, stats = result_text(summary)
    assert (network["label"], network["note"]) == (TEMPORAL_LABEL, FALLBACK + ABOUT.format(strength=1))
    assert network["together"] and (stats["frames"], stats["baseline"]) == ("24", FRAMEWISE_LABEL)
    assert plot_variants(plot) == {TEMPORAL_LABEL, FRAMEWISE_LABEL}
    assert reading.startswith("**Flicker per frame pair**")

    # The slider's two videos, served by job id: the temporal any-painting network's and the baseline's.
    sources = re.findall(r'<video class="vst-(?:under|over)" src="([^"]+)"', slider)
    assert [Path(s).name for s in sources] == ["clip_your-painting_framewise.mp4", "clip_your-painting.mp4"]
    assert all(painting_app.get(s).status_code == 200 for s in sources)
    # The baseline is the teacher itself (the any-painting network's framewise variant with the painting's vector):
    # its first frame is the teacher's rendering of the clip's first frame, up to the video encoding.
    job = painting_app.config.jobs_dir / sources[0].split("/")[2]
    with VideoReader(clip_mp4) as reader:
        frame = next(iter(reader.batches(1))).images
    teacher = Stylizer(network_for_picture(painting_jpg, variant="framewise"), "cpu")(frame)[0].astype(np.int16)
    assert np.abs(first_frame(job / "clip_your-painting_framewise.mp4") - teacher).mean() < 8
    assert np.abs(first_frame(job / "clip_your-painting.mp4") - teacher).mean() > 1  # the temporal network differs

    # Below strength 1 the video's own style is mixed in: another rendering, said in the result text; with the fast
    # network unticked there is no fall-back to tell.
    weaker, *_, weaker_summary = client.predict(handle_file(clip_mp4), "your-painting", False, 0.3,
                                                api_name="/stylize")
    assert result_text(weaker_summary)[0]["note"] == ABOUT.format(strength=0.3)
    assert np.abs(first_frame(weaker) - first_frame(video)).mean() > 1


def test_a_visitors_painting_is_theirs_alone(painting_app: PaintingApp, painting_jpg: Path, clip_mp4: Path) -> None:
    owner = painting_app.client()
    shown = open_painting(owner, painting_jpg)
    # Another session has no painting: "Your painting" there is refused, whatever the owner uploaded.
    other = painting_app.client()
    with pytest.raises(AppError, match=NO_PAINTING):
        other.predict(handle_file(clip_mp4), "your-painting", True, 1.0, api_name="/stylize")
    # The page every visitor loads (the gallery, every default value) names neither the picture nor its preview.
    page = httpx.get(painting_app.url + "config", timeout=30).text
    assert "my-painting" not in page and Path(shown["preview"]).name not in page
    # The preview lies in a folder of the owner's session only (a random id, never listed), and the picture itself on
    # no disk of this server.
    folder = next(painting_app.config.jobs_dir.glob(f"*/{Path(shown['preview']).name}")).parent
    assert re.fullmatch(r"[0-9a-f]{32}", folder.name)
    assert painting_app.get(f"/vst-media/{folder.name}/").status_code == 404
    assert holding([Path(get_upload_folder()), painting_app.config.cache_dir], painting_jpg.read_bytes()) == []


def test_a_result_of_your_painting_is_a_blind_pair_for_its_visitor_only(painting_app: PaintingApp,
                                                                        painting_jpg: Path, clip_mp4: Path) -> None:
    owner = Client(painting_app.url, verbose=False)
    owner.predict(handle_file(painting_jpg), 1.0, api_name="/your_painting")
    _, slider, *_ = owner.predict(handle_file(clip_mp4), "your-painting", True, 1.0, api_name="/stylize")
    job = re.findall(r'<video class="vst-under" src="([^"]+)"', slider)[0].split("/")[2]
    folder = painting_app.config.jobs_dir / job
    assert (folder / "clip_your-painting.mp4").is_file()

    # Another session is never offered it (no showcase here: nothing to offer at all), before and after the vote.
    other = painting_app.client()
    left, right, prompt, *_ = other.predict(api_name="/ab_next")
    assert (left, right) == (None, None) and "Your painting" not in prompt

    # Its visitor is: the temporal any-painting network against the framewise teacher, prompted as their painting.
    left, right, prompt, *_ = owner.predict(api_name="/ab_next")
    assert prompt == ("**Your painting** on your own video (our steady network and the framewise teacher). Which "
                      "one flickers less and looks better?")
    assert {Path(left).read_bytes(), Path(right).read_bytes()} == {
        (folder / f"clip_your-painting{suffix}.mp4").read_bytes() for suffix in ("", "_framewise")}
    reveal, results, table = owner.predict(api_name="/vote_left")
    labels = f"({re.escape(TEMPORAL_LABEL)}|{re.escape(FRAMEWISE_LABEL)})"
    assert re.fullmatch(rf"Left was \*\*{labels}\*\*, right was \*\*{labels}\*\*\. You preferred \*\*\1\*\*\. "
                        rf"Thanks for voting!", reveal), reveal
    assert len({m for m in re.findall(labels, reveal)}) == 2

    # Stored under the fixed label with the two any-painting checkpoints' digest: nothing of the picture.
    with sqlite3.connect(painting_app.store.path) as conn:
        rows = conn.execute("SELECT * FROM votes WHERE clip = ?", (f"upload-{job}",)).fetchall()
        columns = [c[1] for c in conn.execute("PRAGMA table_info(votes)")]
    assert len(rows) == 1
    row = dict(zip(columns, rows[0], strict=True))
    digest = checkpoint_digest({v: any_painting_folder(v) for v in VARIANTS}, VARIANTS)
    assert (row["style"], row["checkpoints"], row["network"]) == ("your-painting", digest, "full-size")
    sha256 = hashlib.sha256(painting_jpg.read_bytes()).hexdigest()
    assert not any(isinstance(v, str) and ("my-painting" in v or sha256[:16] in v) for v in row.values())

    # Counted apart from the bundled styles: its own line and row, not in "all styles".
    assert results.startswith("No votes on the bundled styles yet.")
    assert "Visitors' own paintings, counted apart" in results and "; 1 vote)." in results  # counted: installed now
    assert [r[0] for r in table["data"]] == ["all styles", YOUR_PAINTING_ROW]
    assert table["data"][0][1:4] == [0, 0, 0] and sum(table["data"][1][1:4]) == 1

    # Voted on: not offered again to its visitor, and still never to the other session.
    assert "Your painting" not in owner.predict(api_name="/ab_next")[2]
    assert "Your painting" not in other.predict(api_name="/ab_next")[2]


@pytest.fixture(scope="module")
def short_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaintingApp]:
    """The app with a 3-second TTL."""
    yield from launch(tmp_path_factory, "short", {"VST_CACHE_TTL_MINUTES": str(TTL_SECONDS / 60)})


def test_a_paintings_preview_expires_with_the_ttl(short_app: PaintingApp, painting_jpg: Path) -> None:
    shown = open_painting(short_app.client(), painting_jpg)
    folder = next(short_app.config.jobs_dir.glob(f"*/{Path(shown['preview']).name}")).parent
    assert short_app.get(shown["preview"]).status_code == 200
    time.sleep(TTL_SECONDS + 2.5)  # the TTL and one expiry interval, with no request meanwhile
    assert not folder.exists()
    assert short_app.get(shown["preview"]).status_code in (403, 404)  # Gradio's copy went with it


def test_without_the_any_painting_network_there_is_no_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    import gradio as gr

    import app

    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(make_tiny_styles(tmp_path / "styles")))
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache")})
    with VoteStore(tmp_path / "votes.sqlite3") as store:
        demo = app.build_app(config, store=store, showcase=PairPool(config.showcase_dir, {}))
    gallery = next(b for b in demo.blocks.values() if isinstance(b, gr.Gallery))
    assert [item["caption"] for item in gallery.value] == ["The Starry Night — Vincent van Gogh, 1889"]
    assert "the app offers no 'Your painting' card: the any-painting network's temporal variant is not " \
           "installed" in caplog.text


def test_names_are_shown_plainly_and_only_uploads_are_discarded(tmp_path: Path) -> None:
    assert shown_name("Mona <b>Lisa</b> *final*.jpg") == "Mona _b_Lisa__b_ _final_.jpg"
    assert shown_name("x" * 60 + ".png") == "x" * 45 + "…"
    mine = tmp_path / "keep.png"
    mine.write_bytes(b"not an upload")
    discard_upload(mine)  # outside Gradio's upload folder: left alone
    assert mine.exists()


def test_a_painting_for_the_live_tab_is_a_network_made_from_it_that_expires_with_it(tmp_path: Path,
                                                                                    painting_jpg: Path) -> None:
    """The Live tab's *Your painting*: the temporal any-painting network with the picture's vector folded in (and
    its frame detail), as ONNX in the painting's own folder; onnxruntime renders what PyTorch renders; the page's
    entry names no server path and nothing of the picture; the file is served only until the painting is
    forgotten."""
    import onnxruntime as ort

    from vst.app.job_space import JobSpace
    from vst.app.live import LiveFiles, style_entry
    from vst.app.your_painting import PaintingStudio

    root = make_tiny_styles(tmp_path / "styles", any_painting=True)
    upload = tmp_path / "upload" / "my-painting.jpg"
    upload.parent.mkdir()
    shutil.copyfile(painting_jpg, upload)
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        studio = PaintingStudio.load(JobSpace(tmp_path / "jobs", 600))
        assert studio is not None
        painting = studio.open(upload, 1.0)
        style = studio.live_style(painting)
        reference = network_for_picture(painting_jpg, variant="temporal")
    assert reference.frame_detail > 0
    onnx = style.models["fast"]
    assert onnx.parent == painting.folder and style.slug == YOUR_PAINTING
    frame = np.asarray(Image.open(painting_jpg).convert("RGB").resize((96, 64)))
    x = (frame.astype(np.float32) / 255).transpose(2, 0, 1)[None]
    got = ort.InferenceSession(str(onnx)).run(None, {"image": x})[0]
    expected = reference.eval()(torch.from_numpy(x)).detach().numpy()
    assert np.abs(got - expected).max() < 1e-4
    files = LiveFiles()
    entry = style_entry(style, files)
    text = json.dumps(entry)
    assert str(tmp_path) not in text and painting.sha256 not in text and "my-painting" not in entry["models"]["fast"]
    assert files.get(entry["models"]["fast"]) == onnx
    studio.forget(painting)
    assert files.get(entry["models"]["fast"]) is None
