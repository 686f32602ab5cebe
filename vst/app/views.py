"""What the page's outputs show at each step (Gradio updates): the Stylize tab through a job (:class:`StylizeView`,
and the API's outputs, :func:`api_outputs`), the *Your painting* panel (:class:`PaintingView`), and the session's own
result, of which a visitor keeps the latest only (:func:`keep_latest`, :func:`forget_result`, :func:`own_pair`)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..style_folder import Variant
from .ab_pair import ABPair
from .comparison import FRAMEWISE_LABEL, VARIANT_LABELS, placeholder_html
from .layout import OFF, PaintingPanel, StylizeTab
from .progress import JobStatus, status_html
from .stylize_jobs import StylizeService
from .stylize_outcome import StylizeOutcome
from .your_painting import YourPainting


def show_box(on: bool) -> dict[str, Any]:
    """The update that shows (``on``) or hides a results box."""
    return gr.update(elem_classes=[] if on else [OFF])


class StylizeView:
    """What the Stylize tab's outputs show at each step of a job (each method returns Gradio updates by component)."""

    def __init__(self, ui: StylizeTab, own_state: gr.State) -> None:
        self.ui = ui
        self.own_state = own_state
        self.outputs = [ui.results, ui.status, ui.summary, ui.video_box, ui.output, ui.slider_box,
                        ui.slider, ui.plot_box, ui.reading, ui.plot, ui.note, own_state]

    def status(self, status: JobStatus, *, first: bool = False) -> dict[Any, Any]:
        """The job's place in line or progress; ``first``: a new job, so the previous result goes."""
        shown: dict[Any, Any] = {self.ui.status: status_html(status)}
        if first:
            hidden = show_box(False)
            shown.update({self.ui.results: show_box(True), self.ui.summary: "",
                          self.ui.video_box: hidden, self.ui.slider_box: hidden, self.ui.plot_box: hidden,
                          self.ui.note: gr.update(value="", visible=False)})
        return shown

    def outcome(self, outcome: StylizeOutcome) -> dict[Any, Any]:
        """Each box appears once its output exists (the delivered video first; the slider, the plot and its caption
        once the comparison is rendered); the status line empties when nothing is left to wait for."""
        slider = outcome.comparison_html()
        if slider is None:
            baseline = VARIANT_LABELS.get(outcome.baseline_variant or Variant.FRAMEWISE, FRAMEWISE_LABEL)
            slider = placeholder_html(f"Rendering the {baseline} baseline for the comparison…" if outcome.pending else
                                      "No comparison for this video (see the text above).")
        shown: dict[Any, Any] = {
            self.ui.summary: outcome.summary(), self.ui.video_box: show_box(True),
            self.ui.output: outcome.video,
            self.ui.slider_box: show_box(outcome.pending or outcome.compared),
            self.ui.slider: slider, self.ui.plot_box: show_box(outcome.compared),
            self.own_state: outcome}
        if outcome.compared:  # the axes: the frame pairs there are, and the error from 0
            shown.update({self.ui.reading: outcome.plot_caption(),
                          self.ui.plot: gr.update(value=outcome.flicker(), x_lim=outcome.pair_range(),
                                                     y_lim=[0, None])})
        if not outcome.pending:
            shown[self.ui.status] = ""
        return shown

    def failed(self, job: str, message: str) -> dict[Any, Any]:
        """The job failed after it started: the message stays in the status line."""
        return {self.ui.status: status_html(JobStatus(job, "failed", message=message))}

    def refused(self, message: str) -> dict[Any, Any]:
        """Nothing started (no video, a video this server does not take, a full line): one message under the
        upload."""
        return {self.ui.note: gr.update(value=message, visible=True)}


def api_components(ui: StylizeTab, own_state: gr.State) -> list[Any]:
    """The API's Stylize outputs (the video, the slider, the plot, its caption, the result text; the session's
    result)."""
    return [ui.output, ui.slider, ui.plot, ui.reading, ui.summary, own_state]


def api_outputs(outcome: StylizeOutcome) -> tuple[Any, ...]:
    slider = outcome.comparison_html() or placeholder_html(
        "Rendering the baseline for the comparison…" if outcome.pending else "No comparison for this video.")
    return (outcome.video, slider, outcome.flicker(), outcome.plot_caption() if outcome.compared else "",
            outcome.summary(), outcome)


def keep_latest(service: StylizeService, previous: StylizeOutcome | None,
                 outcome: StylizeOutcome) -> StylizeOutcome | None:
    """A visitor keeps only their latest result: the previous job's folder goes once a new one exists."""
    if previous is not None and previous.folder != outcome.folder:
        service.jobs.remove(previous.folder)
        return None
    return previous


def forget_result(service: StylizeService, outcome: StylizeOutcome | None) -> None:
    """``gr.State`` delete callback: an expired session's job folder is deleted."""
    if outcome is not None:
        service.jobs.remove(outcome.folder)


def own_pair(own: StylizeOutcome | None) -> ABPair | None:
    """The session's own result as a blind A/B pair (none before a comparison exists)."""
    return own.pair() if own is not None else None


def painting_text(painting: YourPainting | None) -> str:
    if painting is None:
        return "Selected style: **Your painting**: upload a picture below."
    return f"Selected style: **Your painting** ({painting.name})"


class PaintingView:
    """What the painting panel's outputs show (the upload field, the refusal line, the preview and its caption, the
    selected-style line), with the session's painting."""

    def __init__(self, selected: gr.Markdown, panel: PaintingPanel) -> None:
        self.selected = selected
        self.panel = panel

    def outputs(self, state: gr.State) -> list[Any]:
        panel = self.panel
        return [panel.file, panel.note, panel.preview, panel.caption, self.selected, state]

    def shown(self, painting: YourPainting) -> tuple[Any, ...]:
        """The preview on screen (the upload field emptied: its file is already deleted)."""
        return (None, gr.update(value="", visible=False),
                gr.update(value=str(painting.preview), elem_classes=[]), painting.caption(),
                painting_text(painting), painting)

    def refused(self, message: str) -> tuple[Any, ...]:
        """One line saying why; no preview, no painting kept."""
        return (None, gr.update(value=message, visible=True), gr.update(value=None, elem_classes=[OFF]), "",
                painting_text(None), None)

    def unchanged(self) -> tuple[Any, ...]:
        return (gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), None)
