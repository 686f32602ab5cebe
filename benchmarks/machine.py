"""What a benchmark ran on, for its JSON: the CPU's model and the vector instructions PyTorch and oneDNN used.

Frame rates move with the CPU more than with anything in this repository (the fast network at 640×360 ran 23–24 fps
end to end on a 2-core Xeon with AVX-512 and 18 with it capped at AVX2, ``ONEDNN_MAX_CPU_ISA=AVX2
ATEN_CPU_CAPABILITY=avx2``), so every result says which it was."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def cpu_model() -> str:
    """The first ``model name`` of ``/proc/cpuinfo`` ("" where there is none, e.g. on macOS)."""
    info = Path("/proc/cpuinfo")
    if not info.is_file():
        return ""
    for line in info.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def cpu_description() -> dict[str, str]:
    """``cpu_model``, ``cpu_capability`` (PyTorch's vector kernels: ``AVX2``, ``AVX512`` …, after any
    ``ATEN_CPU_CAPABILITY``) and ``onednn_max_isa`` (the ``ONEDNN_MAX_CPU_ISA`` cap on oneDNN's convolutions, or
    "" when uncapped)."""
    return {"cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "")}
