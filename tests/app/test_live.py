"""The Live tab's server side: which styles it offers, which files it serves, and the pinned runtime's integrity."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support.app_harness import make_tiny_styles
from vst import web_runtime
from vst.app.isolation import HEADERS, isolation_middleware
from vst.app.live import PAGE_DIR, LiveFiles, live_routes, live_styles, page_config, page_src
from vst.app.gallery import GalleryStyle
from vst.onnx_export import ONNX_FILE, export_checkpoint, exported_from


def test_live_styles_export_missing_onnx_once_and_serve_only_what_the_page_loads(tmp_path: Path) -> None:
    root = make_tiny_styles(tmp_path / "styles", ("starry-night", "great-wave", "the-scream", "udnie"),
                            fast=("starry-night", "great-wave"), live=("great-wave", "udnie"))
    export_checkpoint(root / "great-wave" / "fast")  # bundled with its exports; the others have none
    export_checkpoint(root / "great-wave" / "live")
    variants = ("temporal", "framewise", "fast", "live")
    slugs = ("starry-night", "great-wave", "the-scream", "udnie")
    styles = [GalleryStyle(slug, slug, Path("unused.jpg"), {v: root / slug / v for v in variants
                                                             if (root / slug / v).is_dir()}) for slug in slugs]
    export_dir = tmp_path / "cache" / "live-onnx"
    live = live_styles(styles, export_dir)
    assert [s.slug for s in live] == ["starry-night", "great-wave", "udnie"]  # the-scream has neither network
    # the live network first (the page's default), then the fast one; each style with the networks it has
    assert [list(s.models) for s in live] == [["fast"], ["live", "fast"], ["live"]]
    assert live[0].models["fast"] == (export_dir / "starry-night" / "fast" / ONNX_FILE).resolve()
    assert exported_from(live[0].models["fast"], root / "starry-night" / "fast")
    assert live[2].models["live"] == (export_dir / "udnie" / "live" / ONNX_FILE).resolve()
    assert exported_from(live[2].models["live"], root / "udnie" / "live")
    assert live[1].models == {v: (root / "great-wave" / v / ONNX_FILE).resolve() for v in ("live", "fast")}
    stamp = live[0].models["fast"].stat().st_mtime_ns
    assert live_styles(styles, export_dir)[0].models["fast"].stat().st_mtime_ns == stamp  # exported once, reused

    example = tmp_path / "clip.mp4"
    example.write_bytes(b"not empty")
    runtime = tmp_path / "ort"
    runtime.mkdir()
    (runtime / "ort.wasm.min.mjs").write_text("export {};\n")
    (runtime / "sub").mkdir()
    files = LiveFiles()
    files.add_page(PAGE_DIR)
    config = page_config(live, [(example, "Clip")], runtime, files)
    src = page_src(config, backend="wasm")
    assert src.startswith("vst-live/live.html?backend=wasm#")
    assert json.loads(unquote(src.split("#", 1)[1])) == config
    assert config["runtime"] == f"runtime/{web_runtime.VERSION}" and config["version"] == web_runtime.VERSION
    # Every file the page loads is a name relative to it, never a server path; each name serves that file.
    assert str(tmp_path) not in src and str(PAGE_DIR) not in src
    names = {name: path for s, style in zip(config["styles"], live, strict=True)
             for name, path in zip(s["models"].values(), style.models.values(), strict=True)}
    assert all(re.fullmatch(r"models/[a-z-]+/(live|fast)-[0-9a-f]{12}\.onnx", name) for name in names), names
    assert all(files.get(name) == path for name, path in names.items())
    assert re.fullmatch(r"examples/clip-[0-9a-f]{12}\.mp4", config["examples"][0]["url"])
    assert files.get(config["examples"][0]["url"]) == example.resolve()
    assert files.get(f"runtime/{web_runtime.VERSION}/ort.wasm.min.mjs") == runtime / "ort.wasm.min.mjs"
    assert files.get("live.js") == PAGE_DIR / "live.js"
    # Nothing else: no folder, no way out of the runtime's folder, no other file.
    for name in ("models", f"runtime/{web_runtime.VERSION}/sub", f"runtime/{web_runtime.VERSION}/../clip.mp4",
                 f"runtime/{web_runtime.VERSION}/.hidden", "clip.mp4", str(example), "live_page/live.js"):
        assert files.get(name) is None, name
    assert [n["name"] for n in config["networks"]] == ["live", "fast"]
    assert [n["name"] for n in page_config(live[:1], [], None, files)["networks"]] == ["fast"]  # only what some has
    assert page_config(live, [], None, files)["runtime"] is None  # no runtime: the CDN, nothing local


def test_the_live_route_serves_registered_files_only(tmp_path: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    files = LiveFiles()
    files.add_page(PAGE_DIR)
    model = tmp_path / "model.onnx"
    model.write_bytes(b"onnx bytes")
    name = files.add("models/starry-night", model, "live")
    (tmp_path / "ort").mkdir()
    (tmp_path / "ort" / "ort.wasm.min.mjs").write_text("export {};\n")
    runtime = files.add_folder("runtime/1", tmp_path / "ort")
    client = TestClient(FastAPI(routes=live_routes(files)))
    response = client.get(f"/vst-live/{name}")
    assert response.status_code == 200 and response.content == b"onnx bytes"
    assert client.get(f"/vst-live/{runtime}/ort.wasm.min.mjs").headers["content-type"].startswith("text/javascript")
    assert client.get("/vst-live/live.html").headers["content-type"].startswith("text/html")
    for missing in ("models/starry-night", "model.onnx", f"{runtime}/../model.onnx", "runtime", "nothing.js"):
        assert client.get(f"/vst-live/{missing}").status_code == 404, missing


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
