"""The Live tab's server side: which styles it offers, which files it serves, and the pinned runtime's integrity."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.app_harness import make_tiny_styles
from vst.app import web_runtime
from vst.app.isolation import HEADERS, isolation_middleware
from vst.app.live import PAGE_DIR, live_styles, page_config, page_src, served_paths
from vst.app.service import GalleryStyle
from vst.onnx_export import ONNX_FILE, export_checkpoint, exported_from


def test_live_styles_export_missing_onnx_once_and_serve_only_what_the_page_loads(tmp_path: Path) -> None:
    root = make_tiny_styles(tmp_path / "styles", ("starry-night", "great-wave", "the-scream"),
                            fast=("starry-night", "great-wave"))
    export_checkpoint(root / "great-wave" / "fast")  # bundled with its export; starry-night's has none
    variants = ("temporal", "framewise", "fast")
    styles = [GalleryStyle(slug, slug, Path("unused.jpg"), {v: root / slug / v for v in variants
                                                             if (root / slug / v).is_dir()})
              for slug in ("starry-night", "great-wave", "the-scream")]
    export_dir = tmp_path / "cache" / "live-onnx"
    live = live_styles(styles, export_dir)
    assert [s.slug for s in live] == ["starry-night", "great-wave"]  # the-scream has no fast network
    assert live[0].onnx == (export_dir / "starry-night" / ONNX_FILE).resolve()
    assert exported_from(live[0].onnx, root / "starry-night" / "fast")
    assert live[1].onnx == (root / "great-wave" / "fast" / ONNX_FILE).resolve()
    stamp = live[0].onnx.stat().st_mtime_ns
    assert live_styles(styles, export_dir)[0].onnx.stat().st_mtime_ns == stamp  # exported once, then reused

    example = tmp_path / "clip.mp4"
    example.write_bytes(b"")
    runtime = tmp_path / "ort"
    config = page_config(live, [(example, "Clip")], runtime)
    src = page_src(config, backend="wasm")
    assert src.startswith(f"gradio_api/file={PAGE_DIR / 'live.html'}?backend=wasm#")
    assert json.loads(unquote(src.split("#", 1)[1])) == config
    assert config["runtime"] == str(runtime) and config["version"] == web_runtime.VERSION
    assert [s["model"] for s in config["styles"]] == [str(s.onnx) for s in live]
    assert set(served_paths(live, [(example, "Clip")], runtime)) == {PAGE_DIR, runtime, example.resolve(),
                                                                     *(s.onnx for s in live)}
    assert served_paths(live, [], None) == [PAGE_DIR, *(s.onnx for s in live)]  # no runtime: the CDN, nothing local


def test_runtime_tarball_must_match_the_pinned_integrity(tmp_path: Path) -> None:
    tarball = tmp_path / "onnxruntime-web-1.30.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        data = b"not the real runtime"
        info = tarfile.TarInfo("package/dist/ort.wasm.min.mjs")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(web_runtime.RuntimeFetchError, match="integrity"):
        web_runtime._check_integrity(tarball)
    assert not web_runtime.runtime_ready(tmp_path)


def test_isolation_headers_on_every_response_unless_set() -> None:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse
    from fastapi.testclient import TestClient

    app = FastAPI(middleware=isolation_middleware())

    @app.get("/page")
    def page() -> PlainTextResponse:
        return PlainTextResponse("page")

    @app.get("/own")
    def own() -> PlainTextResponse:
        return PlainTextResponse("own", headers={"Cross-Origin-Embedder-Policy": "require-corp"})

    with TestClient(app) as client:
        for path in ("/page", "/missing"):  # a 404 too: every document and file the page may load
            response = client.get(path)
            assert [response.headers[name] for name, _ in HEADERS] == ["same-origin", "credentialless"]
        own_response = client.get("/own")
        assert own_response.headers["cross-origin-embedder-policy"] == "require-corp"
        assert own_response.headers.get_list("cross-origin-embedder-policy") == ["require-corp"]
