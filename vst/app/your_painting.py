"""“Your painting”: a visitor's own picture as the style of the Stylize tab.

The gallery's last card (:func:`your_painting_card`) opens an upload and a strength slider. :class:`PaintingStudio`
turns an upload into a :class:`YourPainting`:

- the file is opened by :func:`vst.style_picture.open_style_picture` (a refusal is its one-line message, with no
  server path) and **deleted at once** from Gradio's upload folder, whatever the outcome: the picture is kept only as
  its style vector (100 numbers), its sha256 and a small thumbnail, in the visitor's session;
- its preview is the card the bundled styles show (:func:`vst.app.gallery.card_image`): the picture beside the
  any-painting network's rendering of the sample photo at the chosen strength, written into a folder of the session's
  own in the job space (a random id, like a job's), which goes when the session ends, when a new picture replaces it,
  or a TTL after it was last written (the job space's expiry);
- a job gets the picture as a :class:`~vst.app.gallery.GalleryStyle` (:meth:`PaintingStudio.style`) whose networks are
  built for that job from the vector (:func:`vst.any_painting.network_for_vectors`: the temporal any-painting network
  and its framewise baseline, the teacher itself) and dropped after it. Only the two any-painting networks themselves
  (public weights) are loaded once and shared; nothing of a visitor's picture is in a cache another session can reach,
  in the gallery or in the blind vote.

A result of it is a blind vote pair for its visitor only (kept in their session, like a result of a bundled style):
the temporal any-painting network against the framewise teacher. Its vote is stored under the fixed style key
:data:`YOUR_PAINTING` with the two any-painting checkpoints' digest (:attr:`PaintingStudio.digest`), nothing of the
picture, and counted apart from the bundled styles (:attr:`vst.app.votes.Results.your_painting`).

There is no fast any-painting network: in the fast mode the temporal one renders a picture, and the hint and the
result text say so. The Live tab runs the same temporal network with the picture's style folded in
(:meth:`PaintingStudio.live_style`), exported to ONNX into the session's folder, served under a name of its own and
gone with the folder. What reaches the browser is that network (its weights carry the 100-number vector), never the
picture. (A two-block network distilled from it for the browser flickered less and cost 0.8× the time a frame, but
lost 22 of 24 blind trials to the teacher: "a washed-out tint"; docs/live.md.)
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from gradio.utils import get_upload_folder
from PIL import Image, ImageDraw, ImageFont

from ..any_painting import REQUIRED_VARIANTS, any_painting_folder, content_frame, network_for_vectors
from ..catalog import Variant
from ..conditional import load_conditional
from ..errors import VideoError, VSTError
from ..files import atomic_output
from ..model import MagentaStyleNet
from ..onnx_export import export_onnx
from ..pipeline import Stylizer
from ..preview import render_preview, sample_photo
from ..style_picture import ACCEPTED_NAMES, open_style_picture
from ..teacher import MagentaTransform, StyleVectors, check_strength, style_predictor
from .gallery import CARD_RATIO, GalleryStyle, card_image
from .job_space import JobSpace
from .live import LiveStyle
from .served_copies import forget_served
from .stylize_jobs import NoStyleSelectedError
from .stylize_outcome import pair_digest
from .votes import YOUR_PAINTING  # the style name of a visitor's painting, where an installed style has its slug

log = logging.getLogger(__name__)

#: The last card's caption.
CAPTION = f"Your painting — upload any picture ({ACCEPTED_NAMES})"
#: The hint under the *Fast network* box while the last card is selected.
REALTIME_NOTE = ("Your painting has no fast network yet: the temporal any-painting network renders it either way "
                 "(the result says so).")
#: Height of the preview card, in pixels (the bundled cards' height).
CARD_HEIGHT = 240
#: Previews rendered at once (each takes a second or so of CPU); more wait for a turn.
PREVIEWS_AT_ONCE = 2
#: Bumped when the last card is drawn differently.
CARD_VERSION = 1


class NoPaintingError(NoStyleSelectedError):
    """*Your painting* was chosen but no picture is uploaded (or it has expired)."""


def shown_name(name: str) -> str:
    """A file name as the page shows it: letters, digits and `` ._-()`` only (nothing Markdown or HTML could read),
    at most 48 characters."""
    safe = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in name).strip() or "picture"
    return safe if len(safe) <= 48 else safe[:45] + "…"


@dataclass(frozen=True, eq=False)
class YourPainting:
    """A visitor's picture as their session keeps it: never the picture's file, only what renders it (compared by
    identity: one upload, one painting)."""

    name: str  #: the file's name, as shown (:func:`shown_name`)
    sha256: str  #: of the file's bytes (recorded with the networks made from it)
    vector: torch.Tensor  #: the picture's style vector, ``(100,)``
    thumbnail: bytes  #: the picture as a JPEG :data:`CARD_HEIGHT` px high: the preview card's left part
    strength: float  #: of the preview on screen
    folder: Path  #: the session's folder in the job space (random id), holding the preview card only
    preview: Path  #: the preview card
    note: str | None = None  #: one line about the picture (an animation reduced to its first frame)

    def caption(self) -> str:
        """The line under the preview (Markdown)."""
        note = f" · {self.note}" if self.note else ""
        return f"**{self.name}** (left) on a photo (right), at strength {self.strength:g}.{note}"


def your_painting_card(out_dir: Path, height: int = CARD_HEIGHT) -> Path:
    """``<out_dir>/your-painting-card-v<N>.jpg``: the gallery's last card, :data:`~vst.app.gallery.CARD_RATIO` wide
    like the others: an empty canvas with a plus (left) beside the sample photo (right). Drawn once."""
    out = Path(out_dir) / f"{YOUR_PAINTING}-card-v{CARD_VERSION}.jpg"
    if out.is_file():
        return out
    width = round(height * CARD_RATIO)
    canvas = Image.new("RGB", (round(width * 0.4), height), (255, 247, 237))
    draw = ImageDraw.Draw(canvas)
    accent, w, h = (234, 88, 12), canvas.width, canvas.height
    for x in range(10, w - 10, 18):  # a dashed frame
        draw.line([(x, 10), (min(x + 10, w - 10), 10)], fill=accent, width=3)
        draw.line([(x, h - 11), (min(x + 10, w - 10), h - 11)], fill=accent, width=3)
    for y in range(10, h - 10, 18):
        draw.line([(10, y), (10, min(y + 10, h - 10))], fill=accent, width=3)
        draw.line([(w - 11, y), (w - 11, min(y + 10, h - 10))], fill=accent, width=3)
    cx, cy, arm = w // 2, round(h * 0.4), round(h * 0.13)
    draw.line([(cx - arm, cy), (cx + arm, cy)], fill=accent, width=9)
    draw.line([(cx, cy - arm), (cx, cy + arm)], fill=accent, width=9)
    font = ImageFont.load_default(size=round(h * 0.11))
    draw.text((cx, round(h * 0.72)), "Your painting", fill=(124, 45, 18), font=font, anchor="mm")
    card = card_image(canvas, Image.fromarray(sample_photo()), height)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with atomic_output(out, overwrite=True) as tmp:
        card.save(tmp, format="JPEG", quality=90)
    return out


def discard_upload(path: str | os.PathLike[str]) -> None:
    """Delete an uploaded file from Gradio's upload folder (``<upload folder>/<sha256 of the content>/<name>``) and
    its folder when that is left empty; a path outside that folder is left alone."""
    path = Path(path)
    root = Path(get_upload_folder()).resolve()
    if root not in path.resolve().parents:
        return
    try:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    except OSError:  # the folder holds the same content under another name, or is gone already
        pass


def _thumbnail(image: Image.Image, height: int = CARD_HEIGHT) -> bytes:
    """``image`` ``height`` px high (aspect kept, at most 3× as wide), as JPEG bytes."""
    width = min(3 * height, max(1, round(image.width * height / image.height)))
    small = image.resize((width, height), Image.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _without_path(message: str, path: str | os.PathLike[str]) -> str:
    """``message`` with the server-side path of an upload (or its folder) replaced by the file's name."""
    path = Path(path)
    return message.replace(str(path), path.name).replace(str(path.parent) + os.sep, "")


class PaintingStudio:
    """Visitors' pictures: opened, previewed, kept per session as a :class:`YourPainting`, rendered per job.

    ``jobs``: the app's job space (the preview's folder is one of its folders, so it expires like a result);
    ``networks``: the any-painting network's variants, loaded from ``folders`` (see :meth:`load`)."""

    def __init__(self, jobs: JobSpace, networks: dict[str, MagentaTransform], folders: dict[str, Path]) -> None:
        self.jobs = jobs
        self.networks = networks
        self.folders = folders
        self._previews = threading.BoundedSemaphore(PREVIEWS_AT_ONCE)

    @classmethod
    def load(cls, jobs: JobSpace) -> PaintingStudio | None:
        """The studio, with the temporal and framewise any-painting variants loaded and the style predictor ready;
        ``None`` (and an error in the log saying why) when either is missing or damaged: the app then shows no *Your
        painting* card."""
        try:
            folders = {variant: any_painting_folder(variant) for variant in REQUIRED_VARIANTS}
            networks = {variant: load_conditional(folder) for variant, folder in folders.items()}
            style_predictor()
        except (VSTError, ImportError) as err:  # not installed (StyleNotFoundError), damaged (CheckpointError)
            log.error("the app offers no 'Your painting' card: %s", err)
            return None
        return cls(jobs, networks, folders)

    # ------------------------------------------------------------------------------------------------ the picture

    def open(self, upload: str | os.PathLike[str] | None, strength: float) -> YourPainting:
        """A visitor's upload as :class:`YourPainting` with its preview at ``strength``; the uploaded file is deleted
        whatever happens. :class:`~vst.errors.StylePictureError` (one line, the file's name only) for a picture
        :func:`~vst.style_picture.open_style_picture` refuses."""
        if not upload:
            raise NoPaintingError(f"Choose a picture ({ACCEPTED_NAMES}) for your painting.")
        try:
            picture = open_style_picture(upload)
        except VSTError as err:
            raise type(err)(_without_path(str(err), upload)) from None
        finally:
            discard_upload(upload)
        check_strength(strength)
        name = shown_name(picture.name)
        vector = style_predictor()(picture.image)
        thumbnail = _thumbnail(picture.image)
        _, folder = self.jobs.new()
        try:
            preview = self._write_preview(folder, thumbnail, vector, strength, picture.sha256)
        except BaseException:
            self.jobs.remove(folder)
            raise
        note = picture.note.replace(picture.name, name) if picture.note else None
        log.info("a visitor's painting opened (%dx%d), preview in %s", picture.image.width, picture.image.height,
                 folder.name)
        return YourPainting(name, picture.sha256, vector, thumbnail, strength, folder, preview, note)

    def restrength(self, painting: YourPainting, strength: float) -> YourPainting:
        """``painting`` with its preview rendered again at ``strength`` (the previous card goes);
        :class:`NoPaintingError` when its folder has expired."""
        check_strength(strength)
        if strength == painting.strength and painting.preview.is_file():
            return painting
        if not painting.folder.is_dir():
            raise NoPaintingError("Your painting has expired from this server; please upload it again.")
        preview = self._write_preview(painting.folder, painting.thumbnail, painting.vector, strength,
                                      painting.sha256)
        _delete(painting.preview)
        return dataclasses.replace(painting, strength=strength, preview=preview)

    def forget(self, painting: YourPainting | None) -> None:
        """Delete a painting's folder and Gradio's copy of its preview (a session ended, or a new picture came)."""
        if painting is not None:
            self.jobs.remove(painting.folder)

    def _write_preview(self, folder: Path, thumbnail: bytes, vector: torch.Tensor, strength: float,
                       sha256: str) -> Path:
        """The preview card (:func:`~vst.app.gallery.card_image`) in ``folder``, under a new random name."""
        network = self._photo_network(vector, strength, sha256)
        with self._previews:
            photo = render_preview(network)
        with Image.open(io.BytesIO(thumbnail)) as painting:
            card = card_image(painting, photo, CARD_HEIGHT)
        out = folder / f"preview-{os.urandom(6).hex()}.jpg"
        with atomic_output(out) as tmp:
            card.save(tmp, format="JPEG", quality=90)
        return out

    def _photo_network(self, vector: torch.Tensor, strength: float, sha256: str) -> MagentaStyleNet:
        """The temporal any-painting network with a picture's style at ``strength``, mixed below 1 with the sample
        photo's own vector (no video to take one from): what the preview and the Live tab render."""
        content = _photo_vector() if strength < 1.0 else None
        return network_for_vectors(StyleVectors(vector, strength, content), sha256, variant=Variant.TEMPORAL,
                                   conditional=self.networks[Variant.TEMPORAL])

    # ------------------------------------------------------------------------------------------------ the Live tab

    def live_style(self, painting: YourPainting) -> LiveStyle:
        """``painting`` as a style of the Live page: the temporal any-painting network with its style folded in (at
        the preview's strength, mixed with the sample photo's vector below 1; with its frame detail), exported to ONNX
        into the painting's folder under a new random name (so it expires with it), offered as the page's *fast*
        network (the full-size one). :class:`NoPaintingError` when the folder has expired."""
        if not painting.folder.is_dir():
            raise NoPaintingError("Your painting has expired from this server; please upload it again.")
        network = self._photo_network(painting.vector, painting.strength, painting.sha256)
        out = export_onnx(network, painting.folder / f"live-{os.urandom(6).hex()}.onnx")
        log.info("a visitor's painting exported for the Live tab: %s", out.name)
        return LiveStyle(YOUR_PAINTING, f"Your painting ({painting.name})", {Variant.FAST: out})

    # ------------------------------------------------------------------------------------------------ a job

    def job_style(self, style: str | None, painting: YourPainting | None,
                  strength: float) -> str | GalleryStyle | None:
        """What a job renders: ``style`` itself for an installed style; for :data:`YOUR_PAINTING`, the session's
        painting at ``strength`` (:meth:`style`), or :class:`NoPaintingError` without one."""
        if style != YOUR_PAINTING:
            return style
        if painting is None:
            raise NoPaintingError(f"Upload a picture ({ACCEPTED_NAMES}) for your painting first; pictures are "
                                  f"deleted from this server a while after their upload.")
        return self.style(dataclasses.replace(painting, strength=check_strength(float(strength))))

    @functools.cached_property
    def digest(self) -> str:
        """The digest of the any-painting network's temporal and framewise checkpoints: what a vote on a visitor's
        painting judged (:func:`~vst.app.stylize_outcome.pair_digest`; the same for every picture)."""
        return pair_digest(GalleryStyle(YOUR_PAINTING, CAPTION, Path(), dict(self.folders)), Variant.TEMPORAL,
                           Variant.FRAMEWISE)

    def style(self, painting: YourPainting) -> GalleryStyle:
        """``painting`` as the style of one job: its networks are built for that job (:meth:`job_networks`)."""
        return GalleryStyle(
            YOUR_PAINTING, f"Your painting ({painting.name})", painting.preview,
            dict(self.folders),
            networks=functools.partial(self.job_networks, painting),
            no_fast="your painting has none yet, so the temporal any-painting network was used",
            about=(f"Your painting: {painting.name}, strength {painting.strength:g}; the framewise baseline is the "
                   f"teacher itself."))

    def job_networks(self, painting: YourPainting, variants: Sequence[str], source: Path,
                     device: torch.device) -> dict[str, Stylizer]:
        """The networks of ``variants`` with ``painting``'s style folded in, for one job on the video ``source``
        (below strength 1, its first frame's own style is mixed in, as on the command line)."""
        content = None
        if painting.strength < 1.0:
            try:
                content = style_predictor()(content_frame(source))
            except VideoError as err:
                raise VideoError(f"This video could not be processed: {_without_path(str(err), source)}") from None
        vectors = StyleVectors(painting.vector, painting.strength, content)
        return {variant: Stylizer(network_for_vectors(vectors, painting.sha256, variant=variant,
                                                      conditional=self.networks[variant]), device)
                for variant in variants}


@functools.cache
def _photo_vector() -> torch.Tensor:
    """The sample photo's own style vector: what a strength below 1 mixes in for the preview."""
    return style_predictor()(Image.fromarray(np.asarray(sample_photo())))


def _delete(path: Path) -> None:
    """Delete one of our files and Gradio's served copy of it."""
    if path.is_file():
        forget_served(path)
    path.unlink(missing_ok=True)
