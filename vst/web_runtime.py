"""The in-browser runtime of the ONNX exports (:mod:`vst.onnx_export`): a pinned onnxruntime-web, fetched once from the
npm registry, which the app's Live tab serves locally.

:func:`fetch_web_runtime` takes the pinned package tarball from the npm registry (``npm pack`` when npm is installed,
otherwise a plain HTTPS download of the same tarball), checks it against the pinned SHA-512 integrity, and keeps only
the files the page loads (:data:`RUNTIME_FILES`, about 41 MB) in ``<cache>/onnxruntime-web-<version>/``. It runs in
both set-up commands of the README: ``python -m training fetch-vgg`` (the test command) and ``python app.py`` (at
start, when missing), and in ``python -m vst fetch-web-runtime``. Tests never fetch: they use the cached copy. It is the
library's, not the app's, so that those command lines need not import the app.

Without a local copy the page loads the same pinned version from :data:`CDN_URL` and says so (the documented fallback).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from .errors import VSTError
from .settings import cache_root

log = logging.getLogger(__name__)

VERSION = "1.30.0"
PACKAGE = "onnxruntime-web"
#: ``npm view onnxruntime-web@1.30.0 dist.integrity``
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
#: The documented fallback when no local copy exists (the page says it is using it).
CDN_URL = f"https://cdn.jsdelivr.net/npm/{PACKAGE}@{VERSION}/dist/"
#: What the page loads from ``dist/``: the WASM build (SIMD, threads when the page is cross-origin isolated) and the
#: WebGPU build (which also runs the WASM backend), each an ES module plus its Emscripten loader and binary.
RUNTIME_FILES: tuple[str, ...] = (
    "ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
    "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm",
)
FETCH_TIMEOUT_S = 300


class RuntimeFetchError(VSTError):
    """The runtime could not be fetched (no network, registry error, integrity mismatch)."""


def runtime_dir() -> Path:
    """``$VST_CACHE_DIR/onnxruntime-web-<version>`` (``~/.cache/vst`` without the variable)."""
    return cache_root() / f"{PACKAGE}-{VERSION}"


def runtime_ready(folder: Path | None = None) -> bool:
    folder = folder or runtime_dir()
    return all((folder / name).is_file() for name in RUNTIME_FILES)


def _check_integrity(tarball: Path) -> None:
    algorithm, _, expected = INTEGRITY.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    if base64.b64encode(digest).decode() != expected:
        raise RuntimeFetchError(f"{tarball.name} does not match the pinned {PACKAGE}@{VERSION} integrity")


def _download(workdir: Path) -> Path:
    """The package tarball in ``workdir``: ``npm pack`` if npm is installed, else the registry's HTTPS URL."""
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(workdir), "--silent",
                               "--fetch-retries=1"], capture_output=True, text=True, timeout=FETCH_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeFetchError(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip()[-300:]}")
        return workdir / f"{PACKAGE}-{VERSION}.tgz"
    target = workdir / f"{PACKAGE}-{VERSION}.tgz"
    try:
        with urllib.request.urlopen(TARBALL_URL, timeout=60) as response, target.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(response, out)
    except OSError as err:
        raise RuntimeFetchError(f"could not download {TARBALL_URL}: {err}") from err
    return target


def fetch_web_runtime(folder: Path | None = None) -> Path:
    """The folder holding :data:`RUNTIME_FILES`, fetching them once if missing. Raises :class:`RuntimeFetchError`."""
    folder = folder or runtime_dir()
    if runtime_ready(folder):
        return folder
    log.info("fetching %s@%s from the npm registry into %s", PACKAGE, VERSION, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".ort-web-") as tmp:
        work = Path(tmp)
        tarball = _download(work)
        _check_integrity(tarball)
        staging = work / "dist"
        staging.mkdir()
        with tarfile.open(tarball) as archive:
            for name in RUNTIME_FILES:
                member = archive.getmember(f"package/dist/{name}")
                source = archive.extractfile(member)
                if source is None:
                    raise RuntimeFetchError(f"{name} is not a file in the {PACKAGE} tarball")
                with source, (staging / name).open("wb") as out:
                    shutil.copyfileobj(source, out)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)  # complete or absent, never half-written
    return folder


def ensure_web_runtime() -> Path | None:
    """:func:`fetch_web_runtime`, or ``None`` with a warning (the Live tab then uses :data:`CDN_URL` and says so)."""
    try:
        return fetch_web_runtime()
    except (RuntimeFetchError, OSError, subprocess.SubprocessError) as err:
        log.warning("the Live tab's runtime is not available locally (%s); browsers will load it from %s", err,
                    CDN_URL)
        return None
