"""Limits and settings of the web app (``app.py``), read from environment variables.

Every limit protects a public Space: one visitor must not be able to exhaust the disk, the CPU or the queue. Each
field of :class:`AppConfig` documents its variable and default; :meth:`AppConfig.from_env` reads them all and rejects a
malformed value with a one-line :class:`ConfigError` naming the variable.

==========================  =========================  =======================================================
variable                    default                    meaning
==========================  =========================  =======================================================
``VST_MAX_UPLOAD_MB``       200                        largest accepted upload, in megabytes
``VST_MAX_SECONDS``         30                         longer videos are refused with a message naming the limit
``VST_MAX_SIDE``            720                        the long side is downscaled to this many pixels
``VST_CONCURRENCY``         1                          stylize jobs run at the same time (others wait in the queue)
``VST_QUEUE_SIZE``          20                         waiting jobs beyond this are turned away ("queue is full")
``VST_JOB_TIMEOUT``         300                        seconds a stylize job may take to deliver its video
``VST_COMPARISON_TIMEOUT``  120                        seconds the real-time comparison pass may take afterwards
``VST_MAX_INPUT_PIXELS``    8294400                    uploads with larger frames (3840×2160) are refused early
``VST_DEVICE``              auto                       ``cpu``, ``cuda``, ``cuda:1`` …; ``auto``: CUDA when present
``VST_COMPILE``             0                          ``torch.compile`` the networks (faster after a compile per size)
``VST_CACHE_DIR``           ``~/.cache/vst``           jobs' outputs, previews and the A/B showcase go here
``VST_CACHE_TTL_MINUTES``   60                         a job's files are deleted this long after it finished
``VST_SHOWCASE``            1                          pre-render the A/B showcase pairs in the background at start
==========================  =========================  =======================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VSTError
from ..files import cache_root


class ConfigError(VSTError):
    """An environment variable of the app holds a value that cannot be used."""


def _number(env: Mapping[str, str], name: str, default: float, *, integer: bool, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind}, not {raw!r}") from None
    if not value >= minimum:  # also rejects NaN
        raise ConfigError(f"{name} must be at least {minimum:g}, not {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false), not {raw!r}")


def default_cache_dir() -> Path:
    """``~/.cache/vst``: :func:`vst.files.cache_root` without ``VST_CACHE_DIR``."""
    return cache_root({})


@dataclass(frozen=True)
class AppConfig:
    """Settings of one app instance (see the module docstring for the variables)."""

    #: ``VST_MAX_UPLOAD_MB``: largest upload in MB; Gradio refuses bigger files before they reach the server's disk.
    max_upload_mb: int = 200
    #: ``VST_MAX_SECONDS``: a longer video is refused with a message that names the limit (it is not truncated).
    max_seconds: float = 30.0
    #: ``VST_MAX_SIDE``: frames whose long side is bigger are downscaled to it (aspect kept); smaller ones stay as is.
    max_side: int = 720
    #: ``VST_CONCURRENCY``: stylize jobs running at the same time; the rest wait in Gradio's queue.
    concurrency: int = 1
    #: ``VST_QUEUE_SIZE``: most jobs waiting in the queue; further visitors are told that the queue is full.
    queue_size: int = 20
    #: ``VST_JOB_TIMEOUT``: seconds a stylize job may take to deliver its video (decode, network(s), encode) before
    #: it is stopped. With the temporal model this includes the framewise baseline (one pass renders both).
    job_timeout: float = 300.0
    #: ``VST_COMPARISON_TIMEOUT``: seconds the real-time mode's comparison pass may take once the video is delivered;
    #: past it the comparison stops and says so, and the delivered video stays.
    comparison_timeout: float = 120.0
    #: ``VST_MAX_INPUT_PIXELS``: uploads whose frames have more pixels are refused before decoding (memory).
    max_input_pixels: int = 3840 * 2160
    #: ``VST_DEVICE``: torch device for the networks; ``None`` picks CUDA when present, else the CPU.
    device: str | None = None
    #: ``VST_COMPILE``: run the networks through ``torch.compile`` (see :class:`vst.pipeline.Stylizer`): about 1.2×
    #: faster on a CPU, but the first job at each frame size waits about half a minute for the compilation.
    compile: bool = False
    #: ``VST_CACHE_DIR``: root of the app's files: per-job folders, previews, A/B showcase (``python -m vst.app.showcase``
    #: renders into ``<cache_dir>/showcase`` too). Only the subfolders the browser needs are served.
    cache_dir: Path = field(default_factory=default_cache_dir)
    #: ``VST_CACHE_TTL_MINUTES``: job folders (a visitor's result) and blind A/B copies older than this are deleted
    #: (checked every quarter of it, between 1 s and a minute, and whenever a job starts); fractions are allowed.
    cache_ttl_minutes: float = 60.0
    #: ``VST_SHOWCASE``: pre-render the A/B showcase pairs in a background thread at start-up.
    showcase: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AppConfig:
        """Read every setting from ``env`` (default ``os.environ``); unset or empty variables keep the default."""
        env = os.environ if env is None else env
        device = env.get("VST_DEVICE", "").strip()
        cache_dir = env.get("VST_CACHE_DIR", "").strip()
        return cls(
            max_upload_mb=int(_number(env, "VST_MAX_UPLOAD_MB", cls.max_upload_mb, integer=True, minimum=1)),
            max_seconds=_number(env, "VST_MAX_SECONDS", cls.max_seconds, integer=False, minimum=0.1),
            max_side=int(_number(env, "VST_MAX_SIDE", cls.max_side, integer=True, minimum=16)),
            concurrency=int(_number(env, "VST_CONCURRENCY", cls.concurrency, integer=True, minimum=1)),
            queue_size=int(_number(env, "VST_QUEUE_SIZE", cls.queue_size, integer=True, minimum=1)),
            job_timeout=_number(env, "VST_JOB_TIMEOUT", cls.job_timeout, integer=False, minimum=0.001),
            comparison_timeout=_number(env, "VST_COMPARISON_TIMEOUT", cls.comparison_timeout, integer=False,
                                       minimum=0.001),
            max_input_pixels=int(_number(env, "VST_MAX_INPUT_PIXELS", cls.max_input_pixels, integer=True,
                                         minimum=256)),
            device=None if device in ("", "auto") else device,
            compile=_flag(env, "VST_COMPILE", cls.compile),
            cache_dir=Path(cache_dir).expanduser() if cache_dir else default_cache_dir(),
            cache_ttl_minutes=_number(env, "VST_CACHE_TTL_MINUTES", cls.cache_ttl_minutes, integer=False,
                                      minimum=0.0),
            showcase=_flag(env, "VST_SHOWCASE", cls.showcase),
        )

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def jobs_dir(self) -> Path:
        """Per-job output folders (``<cache_dir>/app-jobs/<random id>/``), served to the visitor who made them."""
        return self.cache_dir / "app-jobs"

    @property
    def blind_dir(self) -> Path:
        """Copies of A/B videos under random names (a file name must not say which variant it is)."""
        return self.cache_dir / "app-blind"

    @property
    def previews_dir(self) -> Path:
        """Style previews rendered by the app when a style folder has no ``preview.jpg``."""
        return self.cache_dir / "previews"

    @property
    def showcase_dir(self) -> Path:
        """Pre-rendered A/B pairs (:mod:`vst.app.showcase`)."""
        return self.cache_dir / "showcase"

    @property
    def served_dirs(self) -> list[Path]:
        """The folders Gradio may serve files from (``launch(allowed_paths=...)``)."""
        return [self.jobs_dir, self.blind_dir]
