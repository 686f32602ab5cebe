"""Every ``VST_*`` environment variable, in one place: its name, its default and what it sets.

The functions below read a variable when they are called (from ``env``, default ``os.environ``): a process reads its
settings where it starts (the app's start-up, a command), and a test may change them with ``monkeypatch``. The app's
limits are read together, into :class:`AppSettings`; a malformed one is a one-line :class:`ConfigError` naming it.
This module imports nothing of the project but :mod:`vst.errors`.

Styles and files (the library, the command line, training, the app)

``VST_CHECKPOINT_DIR`` = ``vst/checkpoints`` (:data:`vst.catalog.PACKAGE_CHECKPOINT_DIR`)
    The bundled style folders, and the any-painting network's (:func:`checkpoint_dir`).
``VST_HUB_STYLES`` = unset
    Hub model repos listed as styles after the bundled ones: repo ids separated by commas, spaces or new lines,
    ``#`` starting a comment (:func:`hub_styles`).
``VST_HUB_STYLES_FILE`` = ``hub_styles.txt`` (in the working directory, if it exists)
    The same list in a file, one repo id per line; set empty: no file (:func:`hub_styles_file`).
``VST_HUB_NAMESPACE`` = ``vst-video``
    Hub user or organisation of a bundled style's repo, ``<namespace>/vst-<slug>`` (:func:`hub_namespace`).
``VST_ANY_PAINTING_REPO`` = ``vst-video/vst-any-painting``
    Hub repo the any-painting network (a style picture) is pulled from when its variant is not bundled; set empty:
    bundled only (:func:`any_painting_repo`).
``VST_CACHE_DIR`` = ``~/.cache/vst``
    The one cache folder: the app's jobs, previews and A/B showcase, the VGG weights of training, the Live tab's
    in-browser runtime (:func:`cache_root`).
``VST_MALLOC`` = ``tuned``
    The command line's and the app's (not training's) ``malloc``: ``tuned``, glibc's with few arenas and freed memory
    kept for reuse (:mod:`vst.memory`: the fast network about 1.17× as fast end to end at 640×360 on a CPU, about the
    same peak memory); ``system``: glibc's defaults (:func:`malloc`).

The web app's limits (``app.py``; fields of :class:`AppSettings`, read by :meth:`AppSettings.from_env`)

``VST_MAX_UPLOAD_MB`` = 200
    Largest accepted upload, in megabytes; Gradio refuses bigger files before they reach the server's disk.
``VST_MAX_SECONDS`` = 30
    A longer video is refused with a message that names the limit (it is not truncated).
``VST_MAX_SIDE`` = 720
    Frames whose long side is bigger are downscaled to it (aspect kept); smaller ones stay as they are.
``VST_CONCURRENCY`` = 1
    Stylize jobs running at the same time; the others wait in line.
``VST_QUEUE_SIZE`` = 20
    Most jobs waiting in line; one more visitor is told that the queue is full.
``VST_JOB_TIMEOUT`` = 300
    Seconds a stylize job may take to deliver its video (decode, network(s), encode) before it is stopped; with the
    temporal model this includes the framewise baseline (one pass renders both).
``VST_COMPARISON_TIMEOUT`` = 120
    Seconds the fast network's comparison pass may take once the video is delivered; past it the comparison stops
    and says so, and the delivered video stays.
``VST_MAX_INPUT_PIXELS`` = 8294400 (3840×2160)
    Uploads whose frames have more pixels are refused before any frame is decoded (memory).
``VST_DEVICE`` = auto
    Torch device of the networks: ``cpu``, ``cuda``, ``cuda:1`` …; ``auto``: CUDA when present, else the CPU.
``VST_COMPILE`` = 0
    ``1``: run the networks through ``torch.compile`` (see :class:`vst.pipeline.Stylizer`): about 1.2× faster on a
    CPU, but the first job at each frame size waits about half a minute for the compilation.
``VST_CACHE_TTL_MINUTES`` = 60
    Job folders (a visitor's result) and blind A/B copies older than this are deleted (checked every quarter of it,
    between 1 s and a minute, and whenever a job starts); fractions are allowed.
``VST_SHOWCASE`` = 1
    Pre-render the A/B showcase pairs in a background thread at start-up.
``VST_SMOOTHING`` = 1
    Steady a visitor's video and its comparison video alike with flow-guided smoothing (:mod:`vst.smoothing`: each
    frame's broad colour held to the previous output's where the motion is reliable, strokes untouched; 3–5 ms a
    640×360 frame); ``0``: the networks' frames as they are.
``VST_DENOISE`` = 1
    The networks of a job see the clip with the grain that changes from frame to frame held to the previous frame's
    (:mod:`vst.denoise`: flow-guided, where the difference is no more than noise; the frame's own detail kept), both
    videos alike; about 5 ms a 640×360 frame, in the decoding thread; ``0``: the clip as decoded.

The blind A/B votes (:mod:`vst.app.votes`)

``VST_VOTES_DB`` = ``./data/votes/votes.sqlite3`` (``/data/vst/votes.sqlite3`` on a Space with persistent storage)
    The votes database (:func:`votes_db`).
``VST_VOTES_REPO`` = unset
    Hub dataset the votes are synced to; needs ``HF_TOKEN`` too (:func:`votes_repo`, :func:`hf_token`).
``VST_VOTES_PER_MINUTE`` = 10
    Counted votes one client (a salted hash of its network address) may cast per minute; more are refused
    (:func:`votes_per_minute`).
``VST_VOTE_SALT`` = random per process
    Salt of the client hash stored with each vote; set it to link votes across restarts (:func:`vote_salt`).
``VST_TRUST_PROXY`` = 0 (1 on a Hugging Face Space)
    ``1``: take the client's address from ``X-Forwarded-For``, only behind a proxy that sets it (:func:`trust_proxy`).

Read here too, though set by others: ``SPACE_ID`` (set on a Hugging Face Space: :func:`on_space`) and ``HF_TOKEN``
(the Hub token the votes are synced with).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Self

from .errors import VSTError

#: ``VST_HUB_STYLES_FILE``'s default: a file of that name in the working directory.
DEFAULT_HUB_STYLES_FILE = "hub_styles.txt"
#: ``VST_HUB_NAMESPACE``'s default.
DEFAULT_HUB_NAMESPACE = "vst-video"
#: ``VST_ANY_PAINTING_REPO``'s default (``python -m training push vst/checkpoints/any-painting --repo-id …`` uploads it).
DEFAULT_ANY_PAINTING_REPO = "vst-video/vst-any-painting"
#: ``VST_VOTES_PER_MINUTE``'s default.
DEFAULT_VOTES_PER_MINUTE = 10


class ConfigError(VSTError):
    """An environment variable holds a value that cannot be used."""


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


# ------------------------------------------------------------------------------------------- styles and files


def checkpoint_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """``VST_CHECKPOINT_DIR``; ``None`` when unset (then the package's own folder: :func:`vst.catalog.bundled_dir`)."""
    value = _env(env).get("VST_CHECKPOINT_DIR")
    return None if value is None else Path(value)


def hub_styles(env: Mapping[str, str] | None = None) -> str:
    """``VST_HUB_STYLES``, as written (``""`` when unset); :func:`vst.catalog.parse_repo_ids` reads the ids."""
    return _env(env).get("VST_HUB_STYLES", "")


class HubStylesFile(NamedTuple):
    """``VST_HUB_STYLES_FILE``: ``path`` is ``None`` when it is set empty (no file); ``named`` when it is set (a named
    file that is missing is worth a warning, the default one is optional)."""

    path: Path | None
    named: bool


def hub_styles_file(env: Mapping[str, str] | None = None) -> HubStylesFile:
    """``VST_HUB_STYLES_FILE``, else :data:`DEFAULT_HUB_STYLES_FILE`."""
    name = _env(env).get("VST_HUB_STYLES_FILE")
    if name is None:
        return HubStylesFile(Path(DEFAULT_HUB_STYLES_FILE), named=False)
    return HubStylesFile(Path(name) if name else None, named=True)


def hub_namespace(env: Mapping[str, str] | None = None) -> str:
    """``VST_HUB_NAMESPACE``, else :data:`DEFAULT_HUB_NAMESPACE`."""
    return _env(env).get("VST_HUB_NAMESPACE", DEFAULT_HUB_NAMESPACE)


def any_painting_repo(env: Mapping[str, str] | None = None) -> str | None:
    """``VST_ANY_PAINTING_REPO``, else :data:`DEFAULT_ANY_PAINTING_REPO`; ``None`` when it is set empty."""
    return _env(env).get("VST_ANY_PAINTING_REPO", DEFAULT_ANY_PAINTING_REPO).strip() or None


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``VST_CACHE_DIR`` when set and not blank, else ``~/.cache/vst``."""
    value = _env(env).get("VST_CACHE_DIR", "").strip()
    return Path(value) if value else Path.home() / ".cache" / "vst"


#: ``VST_MALLOC``'s values, the default first.
MALLOC_CHOICES = ("tuned", "system")


def malloc(env: Mapping[str, str] | None = None) -> str:
    """``VST_MALLOC``: ``"tuned"`` (the default, also when empty) or ``"system"``; :class:`ConfigError` otherwise."""
    raw = _env(env).get("VST_MALLOC", "").strip().lower() or MALLOC_CHOICES[0]
    if raw not in MALLOC_CHOICES:
        raise ConfigError(f"VST_MALLOC must be {' or '.join(MALLOC_CHOICES)}, not {raw!r}")
    return raw


# ------------------------------------------------------------------------------------------- the web app's limits


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


def _default_cache_dir() -> Path:
    return cache_root({})


@dataclass(frozen=True)
class AppSettings:
    """The web app's limits, one field per variable of the module docstring (its default is the field's)."""

    max_upload_mb: int = 200  # VST_MAX_UPLOAD_MB
    max_seconds: float = 30.0  # VST_MAX_SECONDS
    max_side: int = 720  # VST_MAX_SIDE
    concurrency: int = 1  # VST_CONCURRENCY
    queue_size: int = 20  # VST_QUEUE_SIZE
    job_timeout: float = 300.0  # VST_JOB_TIMEOUT
    comparison_timeout: float = 120.0  # VST_COMPARISON_TIMEOUT
    max_input_pixels: int = 3840 * 2160  # VST_MAX_INPUT_PIXELS
    device: str | None = None  # VST_DEVICE; None: auto
    compile: bool = False  # VST_COMPILE
    cache_dir: Path = field(default_factory=_default_cache_dir)  # VST_CACHE_DIR
    cache_ttl_minutes: float = 60.0  # VST_CACHE_TTL_MINUTES
    showcase: bool = True  # VST_SHOWCASE
    smoothing: bool = True  # VST_SMOOTHING
    denoise: bool = True  # VST_DENOISE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Read every field from ``env`` (default ``os.environ``); unset or empty variables keep the default."""
        env = _env(env)
        device = env.get("VST_DEVICE", "").strip()
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
            cache_dir=cache_root(env).expanduser(),
            cache_ttl_minutes=_number(env, "VST_CACHE_TTL_MINUTES", cls.cache_ttl_minutes, integer=False,
                                      minimum=0.0),
            showcase=_flag(env, "VST_SHOWCASE", cls.showcase),
            smoothing=_flag(env, "VST_SMOOTHING", cls.smoothing),
            denoise=_flag(env, "VST_DENOISE", cls.denoise),
        )


# ------------------------------------------------------------------------------------------- the blind A/B votes


def on_space(env: Mapping[str, str] | None = None) -> bool:
    """Whether this runs on a Hugging Face Space (``SPACE_ID`` is set there)."""
    return bool(_env(env).get("SPACE_ID"))


def votes_db(env: Mapping[str, str] | None = None) -> Path | None:
    """``VST_VOTES_DB``; ``None`` when unset or empty (then :func:`vst.app.votes.default_db_path` decides)."""
    value = _env(env).get("VST_VOTES_DB")
    return Path(value) if value else None


def votes_repo(env: Mapping[str, str] | None = None) -> str | None:
    """``VST_VOTES_REPO``; ``None`` when unset or empty."""
    return _env(env).get("VST_VOTES_REPO") or None


def hf_token(env: Mapping[str, str] | None = None) -> str | None:
    """``HF_TOKEN``; ``None`` when unset or empty."""
    return _env(env).get("HF_TOKEN") or None


def votes_per_minute(env: Mapping[str, str] | None = None) -> int:
    """``VST_VOTES_PER_MINUTE``, else :data:`DEFAULT_VOTES_PER_MINUTE`; :class:`ConfigError` unless a whole number of
    at least 1."""
    raw = _env(env).get("VST_VOTES_PER_MINUTE", "").strip()
    if not raw:
        return DEFAULT_VOTES_PER_MINUTE
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"VST_VOTES_PER_MINUTE must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def vote_salt(env: Mapping[str, str] | None = None) -> str | None:
    """``VST_VOTE_SALT``; ``None`` when unset or empty (then a secret of this process)."""
    return _env(env).get("VST_VOTE_SALT") or None


def trust_proxy(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``X-Forwarded-For`` names the client: on a Space (:func:`on_space`), or ``VST_TRUST_PROXY=1``."""
    return on_space(env) or _env(env).get("VST_TRUST_PROXY", "").strip() == "1"
