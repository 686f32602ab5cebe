"""The final check: every bundled style's networks against its teacher, and the any-painting network against the
teacher, on the clips kept out of training and of every choice. Warping error only (60 frames at 360 px a clip).

    python benchmarks/final_clips.py [--paintings ../shared/styles] [--clips data/raw/diver.mov data/raw/cityCC0.mpg]

Prints each network's ratio to the teacher and writes benchmarks/results/final-clips.json (``--frames`` and
``--networks`` make it shorter).
"""
import argparse
import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from training.evaluate import evaluate  # noqa: E402
from vst.conditional import load_conditional  # noqa: E402
from vst.checkpoint_check import load_network  # noqa: E402
from vst.style_folder import Variant
from vst.teacher import load_teacher, style_vectors  # noqa: E402
parser = argparse.ArgumentParser(description="the final check on the clips kept out of every choice")
parser.add_argument("--paintings", type=Path, default=Path("../shared/styles"))
parser.add_argument("--clips", type=Path, nargs="+", default=[Path("data/raw/diver.mov"), Path("data/raw/cityCC0.mpg")])
parser.add_argument("--frames", type=int, default=60, help="frames per clip (default 60)")
parser.add_argument("--networks", nargs="+", default=[Variant.TEMPORAL, Variant.FAST, Variant.LIVE],
                    help="which of each style's networks to measure beside its teacher (default: temporal fast live)")
args = parser.parse_args()
clips, S = args.clips, args.paintings
RESULTS = Path("benchmarks/results/final-clips.json")
files = {"great-wave": "great_wave", "the-scream": "the_scream", "udnie": "udnie",
         "shipwreck-of-the-minotaur": "shipwreck_of_the_minotaur", "starry-night": "starry_night",
         "composition-vii": "composition_vii"}
out = {}
for slug, f in files.items():
    ck = Path("vst/checkpoints") / slug
    m = evaluate({"teacher": load_network(ck / Variant.FRAMEWISE), **{n: load_network(ck / n) for n in args.networks}},
                 clips, S / f"{f}.jpg", with_speed=False, max_frames=args.frames)
    t = m["teacher"].warping_error
    out[slug] = {k: {"warping_error": v.warping_error, "ratio": v.warping_error / t,
                     "per_clip": {c: d["warping_error"] for c, d in v.per_clip.items()}} for k, v in m.items()}
    print(slug, {k: round(v.warping_error / t, 3) for k, v in m.items()}, flush=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")  # after each style: a stopped run keeps what it measured
conditional, teacher = load_conditional("vst/checkpoints/any-painting/temporal"), load_teacher()
for f in ("starry_night", "the_scream", "composition_vii"):
    with Image.open(S / f"{f}.jpg") as image:
        v = style_vectors(image.convert("RGB")).mixed
    m = evaluate({"teacher": teacher.fixed(v), "any-painting": conditional.fixed(v)}, clips, S / f"{f}.jpg",
                 with_speed=False, max_frames=args.frames)
    t = m["teacher"].warping_error
    out[f"any-painting:{f}"] = {k: {"warping_error": x.warping_error, "ratio": x.warping_error / t} for k, x in m.items()}
    print("any-painting", f, round(m["any-painting"].warping_error / t, 3), flush=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
