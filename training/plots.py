"""Loss curves of a run, drawn from its JSONL log to a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NOT_TERMS = {"step", "lr", "seconds", "temporal_weight", "flicker_ratio"}  # not loss terms


def read_log(path: Path) -> list[dict[str, float]]:
    """The records of a ``log.jsonl`` file (one JSON object per line)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_losses(log_path: Path, png_path: Path, *, title: str = "") -> Path:
    """One curve per loss term (weighted, log scale) against the step; returns ``png_path``."""
    records = read_log(log_path)
    terms = [k for k in records[0] if k not in NOT_TERMS] if records else []
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for term in terms:
        points = [(r["step"], r[term]) for r in records if term in r and r[term] > 0]
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, label=term, linewidth=2 if term == "loss" else 1)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("weighted loss")
    ax.set_title(title or log_path.parent.name)
    ax.grid(alpha=0.3)
    if terms:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    tmp = png_path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(png_path)
    return png_path
