"""Any picture as the style: the any-painting network with a picture's style vector folded in.

The any-painting network is a conditional :class:`vst.teacher.MagentaTransform` (format: :mod:`vst.conditional`),
bundled in ``<VST_CHECKPOINT_DIR>/any-painting/<variant>/`` (default ``vst/checkpoints/any-painting/``; else pulled
from ``VST_ANY_PAINTING_REPO``, :mod:`vst.settings`):

* ``framewise``: the teacher's transform network itself (``python -m training any-painting-teacher``): the baseline;
* ``temporal``: the same network fine-tuned with the temporal loss;
* ``live`` (optional): the temporal one shortened to two residual blocks and fine-tuned to render like it
  (``python -m training any-painting --from … --blocks 2 --variant live``): the Live tab's, in the browser.

A variant that is not installed is an error naming its folder; nothing falls back to another variant.

:func:`network_for_picture` computes the picture's style vector once (:func:`vst.teacher.style_vectors`, with the
strength control of :func:`vst.teacher.teacher_for_painting`) and returns a plain :class:`vst.model.MagentaStyleNet`
that :func:`vst.pipeline.stylize_video` renders like any style's network (:func:`network_for_vectors`: the same
from vectors computed earlier, as the app keeps them for a visitor's picture). The network's ``training_config``
carries a record of the picture — its sha256, its style vector, the strength (and below 1 the content's vector), the
variant — which :func:`output_metadata` turns into the output MP4's ``comment`` tag (JSON under :data:`RECORD_KEY`),
so an output says which picture made it and can be re-rendered from the vector alone; :func:`read_picture_record`
reads it back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from PIL import Image

from .catalog import ANY_PAINTING, VARIANTS, Variant, bundled_dir
from .conditional import load_conditional
from .errors import StyleNotFoundError, VideoError, VSTError
from .hub_client import HUB_ERRORS, hub_variant
from .model import MagentaStyleNet, StyleNet
from .settings import any_painting_repo
from .style_folder import CONFIG_FILE, is_checkpoint_folder
from .style_picture import StylePicture, open_style_picture
from .teacher import MagentaTransform, StyleVectors, check_strength, style_vectors
from .video import VideoReader

#: The variants of the any-painting network: :data:`REQUIRED_VARIANTS` (the temporal one and its framewise baseline)
#: and the optional real-time one.
REQUIRED_VARIANTS: tuple[Variant, ...] = VARIANTS
ANY_PAINTING_VARIANTS: tuple[Variant, ...] = (*VARIANTS, Variant.LIVE)
#: The key of the record in ``training_config`` and in the output's ``comment`` JSON.
RECORD_KEY = "vst_style_picture"
#: The side the content frame is decoded at for the strength control (the style predictor sees 256×256).
CONTENT_SIDE = 512


def any_painting_folder(variant: str = Variant.TEMPORAL) -> Path:
    """The checkpoint folder of the any-painting network's ``variant``: the bundled one, else the one of its Hub repo
    (:func:`vst.settings.any_painting_repo`, or the Hub cache when offline). :class:`StyleNotFoundError` naming every
    place tried (and, for a missing ``temporal``, suggesting ``framewise``) when it is nowhere."""
    if variant not in ANY_PAINTING_VARIANTS:
        raise StyleNotFoundError(f"a style picture renders with the any-painting network, whose variants are "
                                 f"{', '.join(ANY_PAINTING_VARIANTS)}, not '{variant}'")
    folder = bundled_dir() / ANY_PAINTING / variant
    if is_checkpoint_folder(folder):
        return folder
    repo = any_painting_repo()
    where = ""
    if repo is not None:
        try:
            return hub_variant(repo, variant)
        except HUB_ERRORS as err:
            where = f" nor on the Hub at {repo}/{variant} ({' '.join(str(err).split())[:120]})"
    others = [v for v in ANY_PAINTING_VARIANTS if v != variant and (folder.parent / v / CONFIG_FILE).is_file()]
    hint = f"; use --variant {others[0]}" if others else \
        " (write the framewise one with `python -m training any-painting-teacher`)"
    if variant == Variant.LIVE:
        hint += (f" (train it with `python -m training any-painting --from <temporal> --blocks 2 --variant "
                 f"{Variant.LIVE}`)")
    raise StyleNotFoundError(f"the any-painting network's {variant} variant is not installed: {folder} is "
                             f"missing{where}{hint}")


def _vector_list(vector: torch.Tensor) -> list[float]:
    """``(100,)`` → the shortest decimals that read back as the same float32 values."""
    return [float(str(v)) for v in vector.detach().cpu().numpy().astype(np.float32)]


def picture_record(picture: StylePicture, vectors: StyleVectors, variant: str) -> dict[str, Any]:
    """What an output rendered from ``picture`` records: sha256, style vector, strength, content vector, variant."""
    return vectors_record(picture.sha256, vectors, variant)


def vectors_record(sha256: str, vectors: StyleVectors, variant: str) -> dict[str, Any]:
    """:func:`picture_record` of the picture whose file has ``sha256`` and whose style vectors are ``vectors``."""
    record: dict[str, Any] = {"sha256": sha256, "variant": variant, "strength": vectors.strength,
                              "style_vector": _vector_list(vectors.painting)}
    if vectors.content is not None:
        record["content_vector"] = _vector_list(vectors.content)
    return record


def content_frame(source: str | os.PathLike[str]) -> Image.Image:
    """The first frame of the video ``source`` (long side at most :data:`CONTENT_SIDE`): the content picture whose
    own style a strength below 1 mixes in. :class:`VideoError` when it has none."""
    with VideoReader(source, max_side=CONTENT_SIDE) as reader:
        for batch in reader.batches(1):
            return Image.fromarray(batch.images[0])
    raise VideoError(f"{source} has no decodable video frames")


def network_for_picture(picture: StylePicture | str | Path, *, strength: float = 1.0, variant: str = Variant.TEMPORAL,
                        content: Image.Image | None = None) -> MagentaStyleNet:
    """The any-painting network's ``variant`` with ``picture``'s style vector folded in, eval mode, CPU, float32.

    ``picture``: an opened :class:`StylePicture` or a path (opened with :func:`open_style_picture`). ``strength`` in
    [0, 1]; below 1 ``content`` (e.g. :func:`content_frame` of the video) is needed. The result's
    ``training_config[RECORD_KEY]`` is :func:`picture_record`."""
    check_strength(strength)
    folder = any_painting_folder(variant)  # before any work: a missing variant is the likeliest problem
    if not isinstance(picture, StylePicture):
        picture = open_style_picture(picture)
    vectors = style_vectors(picture.image, strength=strength, content=content)
    return network_for_vectors(vectors, picture.sha256, variant=variant, conditional=load_conditional(folder))


def network_for_vectors(vectors: StyleVectors, sha256: str, *, variant: str = Variant.TEMPORAL,
                        conditional: MagentaTransform | None = None) -> MagentaStyleNet:
    """:func:`network_for_picture` from a picture's style vectors (computed once, e.g. kept by the app between
    renders) and its file's ``sha256``; ``conditional``: the ``variant``'s network already loaded
    (:func:`vst.conditional.load_conditional` of :func:`any_painting_folder`), else it is loaded here."""
    if conditional is None:
        conditional = load_conditional(any_painting_folder(variant))
    net = conditional.fixed(vectors.mixed)
    net.training_config = {"any_painting": conditional.training_config,
                           RECORD_KEY: vectors_record(sha256, vectors, variant)}
    return net.eval()


def output_metadata(network: StyleNet) -> dict[str, str]:
    """The container metadata an output of ``network`` carries: ``{"comment": JSON}`` with its picture record for a
    network of :func:`network_for_picture`, else nothing."""
    record = network.training_config.get(RECORD_KEY)
    if record is None:
        return {}
    return {"comment": json.dumps({RECORD_KEY: record}, separators=(",", ":"))}


def read_picture_record(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The picture record of an output MP4 (see the module docstring), or None when it has none."""
    try:
        with av.open(str(path)) as container:
            comment = container.metadata.get("comment")
    except (av.FFmpegError, OSError) as err:
        raise VSTError(f"{path} cannot be read ({err})") from None
    if not comment:
        return None
    try:
        record = json.loads(comment).get(RECORD_KEY)
    except (json.JSONDecodeError, AttributeError):
        return None
    return record if isinstance(record, dict) else None
