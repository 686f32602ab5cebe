"""What a visitor sees while their job waits and runs: one status line with its own progress bar, drawn by us.

Gradio's own progress overlay lies on top of the components it reports on (their text becomes unreadable) and cannot
say where a job stands in this server's line. :class:`JobStatus` is one state of a job (waiting, starting, rendering
the video, rendering the comparison, failed); :func:`status_html` draws it as a bar *above* a line of text, so nothing
is drawn over anything. :data:`STATUS_JS` (the ``js_on_load`` of the status ``gr.HTML``) brings the status into view
once when a new job starts, so the visitor sees the work and then the results where they look.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Literal

from .line import Place

#: The stages of a job as the visitor sees them.
StageName = Literal["waiting", "starting", "video", "comparison", "failed"]


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th`` … ``11th``, ``12th``, ``13th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def duration_text(seconds: float) -> str:
    """``8 s``, ``1 min 05 s``, ``12 min``: a wait rounded up to what a visitor can use."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes >= 10:
        return f"{minutes + (rest > 0)} min"
    return f"{minutes} min {rest:02d} s"


def _jobs(n: int) -> str:
    return "1 video" if n == 1 else f"{n} videos"


@dataclass(frozen=True)
class JobStatus:
    """One state of a visitor's job. ``job``: its random id (a new id is a new job). While rendering: ``done`` of
    ``total`` frames at ``fps``, ``seconds_left`` for this stage. While waiting: ``place`` in the line. ``baseline``:
    the comparison's baseline network (its label). ``message``: why it failed."""

    job: str
    stage: StageName
    done: int = 0
    total: int | None = None
    fps: float = 0.0
    seconds_left: float | None = None
    place: Place | None = None
    baseline: str = ""
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Share of this stage's frames done (``None`` when unknown or waiting)."""
        if self.stage not in ("video", "comparison") or not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))

    def text(self) -> str:
        """One plain line, e.g. ``Stylizing: frame 30 of 100 · 2.6 fps · about 27 s left``."""
        if self.stage == "failed":
            return self.message
        if self.stage == "waiting":
            return self._waiting_text()
        if self.stage == "starting":
            return "Starting: loading the style…"
        frames = f"frame {self.done} of {self.total}" if self.total else f"frame {self.done}"
        speed = f" · {self.fps:.1f} fps" if self.fps > 0 else ""
        left = f" · about {duration_text(self.seconds_left)} left" if self.seconds_left is not None else ""
        if self.stage == "video":
            return f"Stylizing your video: {frames}{speed}{left}"
        return (f"Your video is ready (below). Rendering the {self.baseline or 'framewise'} baseline for the flicker "
                f"comparison: {frames}{left}")

    def _waiting_text(self) -> str:
        place = self.place
        if place is None:
            return "Waiting for a free place on this server…"
        where = "You are next in line" if place.position == 1 else f"You are {ordinal(place.position)} in line"
        ahead = f"{_jobs(place.running)} being stylized"
        if place.waiting:
            ahead += f" and {_jobs(place.waiting)} waiting ahead of yours"
        if place.seconds is None:
            wait = "the wait is estimated once this server has timed a video like these"
        else:
            wait = f"about {duration_text(place.seconds)} to wait"
        return f"{where} ({ahead}): {wait}."


def status_html(status: JobStatus | None) -> str:
    """The status line: a progress bar (or an alert, for a failure) above one line of text; empty for ``None``."""
    if status is None:
        return ""
    text = html.escape(status.text())
    job = html.escape(status.job)
    if status.stage == "failed":
        return (f'<div class="vst-status vst-status-failed" data-job="{job}" data-stage="failed" role="alert">'
                f'<p class="vst-status-text">{text}</p></div>')
    fraction = status.fraction
    if fraction is None:
        bar = '<div class="vst-bar vst-bar-busy" role="progressbar" aria-label="waiting"><span></span></div>'
    else:
        percent = f"{fraction * 100:.1f}"
        bar = (f'<div class="vst-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
               f'aria-valuenow="{percent}"><span style="width: {percent}%"></span></div>')
    return (f'<div class="vst-status" data-job="{job}" data-stage="{status.stage}">{bar}'
            f'<p class="vst-status-text" aria-live="polite">{text}</p></div>')


#: ``js_on_load`` of the status ``gr.HTML``: when a new job shows up (a new ``data-job``), bring the results area (the
#: status's ``#vst-results`` container, else the status itself) to the top of the window, once per job: the visitor
#: sees the work start and the video arrive below it without looking for it, and may scroll away afterwards.
STATUS_JS = r"""
let followed = null;
const follow = () => {
  const status = element.querySelector('.vst-status');
  const job = status ? status.dataset.job : null;
  if (!job || job === followed) return;
  followed = job;
  const area = element.closest('#vst-results') || element;
  requestAnimationFrame(() => area.scrollIntoView({block: 'start', behavior: 'instant'}));
};
follow();
watch('value', follow);
"""

#: ``css_template`` of the status ``gr.HTML`` (no backticks or ``${``: Gradio evaluates it as a template string).
STATUS_CSS = """
.vst-status { padding: 10px 14px; border-radius: 10px; background: rgba(234, 88, 12, 0.08);
  border: 1px solid rgba(234, 88, 12, 0.35); }
.vst-status-failed { background: rgba(220, 38, 38, 0.08); border-color: rgba(220, 38, 38, 0.5); }
.vst-bar { height: 8px; border-radius: 4px; background: rgba(128, 128, 128, 0.25); overflow: hidden;
  margin-bottom: 8px; }
.vst-bar span { display: block; height: 100%; background: #ea580c; transition: width 0.4s linear; }
.vst-bar-busy span { width: 30%; animation: vst-busy 1.6s ease-in-out infinite alternate; }
@keyframes vst-busy { from { margin-left: 0; } to { margin-left: 70%; } }
.vst-status-text { margin: 0; font-size: 1.02em; line-height: 1.4; }
"""
