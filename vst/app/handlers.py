"""The page's event handlers, by tab: the Stylize tab's (:class:`StylizeHandlers`), the *Your painting* panel's, with
the Live tab's upload of it (:class:`PaintingHandlers`), and the Vote tab's (:class:`VoteHandlers`). Each holds what
its handlers use; ``app.py`` builds them and wires their methods to the components.

Gradio reads a handler's signature: its parameters, and their annotations (``evt: gr.SelectData``, ``request:
gr.Request``) resolved at run time, so every name an annotation uses is imported here at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from ..errors import VSTError
from .blind_vote import (
    ABState,
    BlindCopies,
    PairPool,
    Presentation,
    cast_vote,
    choose_next,
    results_markdown,
    results_table,
    should_refresh,
)
from .gallery import GalleryStyle, realtime_note
from .layout import selected_text
from .live import style_entry
from .progress import JobStatus
from .stylize_jobs import StylizeService
from .stylize_outcome import StylizeOutcome
from .views import PaintingView, StylizeView, api_outputs, keep_latest, own_pair, painting_text, show_box
from .votes import VoteStore, client_of
from .your_painting import REALTIME_NOTE as PAINTING_REALTIME_NOTE
from .your_painting import YOUR_PAINTING, PaintingStudio, YourPainting

log = logging.getLogger("vst.app")


def _fail(err: VSTError) -> gr.Error:
    """The one-line message of a library error, as a Gradio error (shown in the UI; no traceback)."""
    return gr.Error(str(err), print_exception=False)


@dataclass(frozen=True, eq=False)
class StylizeHandlers:
    """The Stylize tab: the gallery, the fast-network switch, the upload check and the two Stylize events (the page's
    and the API's). ``studio``: the any-painting network, when installed."""

    service: StylizeService
    styles: list[GalleryStyle]
    studio: PaintingStudio | None
    view: StylizeView

    def select_style(self, fast: bool, painting: YourPainting | None, evt: gr.SelectData) -> tuple[Any, ...]:
        if evt.index >= len(self.styles):  # the last card: your painting
            return (YOUR_PAINTING, painting_text(painting), gr.update(info=PAINTING_REALTIME_NOTE),
                    show_box(True))
        chosen = self.styles[evt.index]
        shown = (chosen.slug, selected_text(chosen), gr.update(info=realtime_note(chosen, bool(fast))))
        return (*shown, show_box(False)) if self.studio else shown

    def toggle_fast(self, slug: str, fast: bool) -> dict[str, Any]:
        if slug == YOUR_PAINTING:
            return gr.update(info=PAINTING_REALTIME_NOTE)
        chosen = next((s for s in self.styles if s.slug == slug), None)
        return gr.update(info=realtime_note(chosen, bool(fast)))

    def check_input(self, video: str | None) -> tuple[Any, ...]:
        """A new input (an upload, an example, a cleared player) takes the previous results off the page; a file
        this server cannot use is refused at once: the player is emptied and one message under it says why."""
        hidden = show_box(False)
        if not video:
            return gr.update(), gr.update(), hidden  # a refusal's message stays until the next input
        try:
            self.service.check_video(video)
        except VSTError as err:
            log.info("upload refused: %s", err)
            return None, gr.update(value=str(err), visible=True), hidden
        return gr.update(), gr.update(value="", visible=False), hidden

    def job_style(self, style: str | None, painting: YourPainting | None, strength: float
                  ) -> str | GalleryStyle | None:
        """What a job renders: the style of that name, or the session's own painting (NoPaintingError without)."""
        return self.studio.job_style(style, painting, strength) if self.studio is not None else style

    def stylize_in_page(self, video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                        painting: YourPainting | None = None, strength: float = 1.0) -> Iterator[dict[Any, Any]]:
        """The page's Stylize: a refusal is one message under the upload (no job starts); the job's place in
        line and progress show in the status line above the results, and a failure stays there."""
        job = ""
        try:
            chosen = self.job_style(style, painting, strength)
            for event in self.service.watch(video, chosen, realtime=bool(realtime)):
                if isinstance(event, JobStatus):
                    yield self.view.status(event, first=not job)
                    job = event.job
                    continue
                previous = keep_latest(self.service, previous, event)
                yield self.view.outcome(event)
        except VSTError as err:
            log.info("stylize %s: %s", "job failed" if job else "refused", err)
            yield self.view.failed(job, str(err)) if job else self.view.refused(str(err))

    def stylize(self, video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                painting: YourPainting | None = None, strength: float = 1.0) -> Iterator[tuple[Any, ...]]:
        """The API's Stylize: each outcome (the video, then the comparison); a refusal or failure is an error."""
        try:
            chosen = self.job_style(style, painting, strength)
            for event in self.service.watch(video, chosen, realtime=bool(realtime)):
                if isinstance(event, StylizeOutcome):
                    previous = keep_latest(self.service, previous, event)
                    yield api_outputs(event)
        except VSTError as err:
            raise _fail(err) from None


@dataclass(frozen=True, eq=False)
class PaintingHandlers:
    """The *Your painting* panel (an upload, the strength slider) and the Live tab's upload of the same painting."""

    studio: PaintingStudio
    view: PaintingView

    def open_painting(self, upload: str | None, strength: float, previous: YourPainting | None
                      ) -> tuple[Any, ...]:
        """An uploaded picture: its preview, or one line saying why it is refused. Either way the file is
        deleted at once (the upload field empties) and the session's previous picture goes."""
        self.studio.forget(previous)
        try:
            painting = self.studio.open(upload, float(strength))
        except VSTError as err:
            log.info("painting refused: %s", err)
            return self.view.refused(str(err))
        return self.view.shown(painting)

    def restrength(self, strength: float, painting: YourPainting | None) -> tuple[Any, ...]:
        """The preview again at the strength the slider was let go at."""
        if painting is None:
            return self.view.unchanged()
        try:
            painting = self.studio.restrength(painting, float(strength))
        except VSTError as err:
            self.studio.forget(painting)
            return self.view.refused(str(err))
        return self.view.shown(painting)

    def open_live_painting(self, upload: str | None, strength: float, previous: YourPainting | None
                           ) -> tuple[Any, ...]:
        """An upload on the Live tab: the session's painting (the Stylize tab shows it too), or one line
        under the Live tab's upload saying why it is refused."""
        shown = self.open_painting(upload, strength, previous)
        painting = shown[-1]
        note = "Preparing your painting for Live…" if painting is not None else shown[1]["value"]
        return (*shown, None, note)

    def live_painting(self, painting: YourPainting | None) -> tuple[Any, Any]:
        """The session's painting as a style of the Live page (its network exported for it), and the
        line under the Live tab's upload."""
        if painting is None:
            return None, gr.update()
        try:
            entry = style_entry(self.studio.live_style(painting))
        except VSTError as err:
            return None, str(err)
        return entry, (f"**{painting.name}** is in the style menu above as *Your painting* (strength "
                       f"{painting.strength:g}, the Stylize tab's slider).")


@dataclass(frozen=True, eq=False)
class VoteHandlers:
    """The Vote tab: the pair on screen, the votes and the results. ``current``: the checkpoints whose votes count;
    ``panel_size``: how many outputs the pair panel has (the session's state first)."""

    styles: list[GalleryStyle]
    store: VoteStore
    showcase: PairPool
    blind: BlindCopies
    current: dict[str, list[str]]
    panel_size: int

    def show(self, state: ABState, shown: Presentation | None) -> tuple[Any, ...]:
        state.current, state.voted = shown, False
        if shown is None:
            message = ("The showcase clips are still being rendered; try again in a minute."
                       if self.showcase.rendering else
                       "You have voted on every pair available right now. Thank you! Stylize a video of your "
                       "own in the first tab to compare it here.")
            if not self.styles:
                message = "No style is installed, so there is nothing to compare yet."
            return (state, None, None, message, "", *[gr.update(interactive=False)] * 3)
        return (state, self.blind.get(shown.left), self.blind.get(shown.right), shown.caption(),
                "Vote to see which was which.", *[gr.update(interactive=True)] * 3)

    def results_now(self) -> tuple[str, pd.DataFrame]:
        tally = self.store.results(self.current)
        return results_markdown(tally, self.store.sync_status), results_table(tally)

    def start(self, browser: str | None, state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
        session = state.ensure_session(browser)
        shown = choose_next(state, own_pair(own), self.showcase.load(), self.store)
        return (session, *self.show(state, shown), *self.results_now())

    def next_pair(self, state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
        # The results do not change with the pair on screen: votes and "Refresh results" update them.
        return self.show(state, choose_next(state, own_pair(own), self.showcase.load(), self.store))

    def open_vote_tab(self, state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
        if should_refresh(state, own_pair(own), self.store):
            return (*self.next_pair(state, own), *self.results_now())
        return (state, *[gr.update()] * (self.panel_size - 1), *self.results_now())

    def voter(self, choice: str) -> Callable[[ABState, gr.Request], tuple[Any, ...]]:
        """The handler of one vote button (a closure, not a partial: Gradio finds ``request`` by its annotation)."""
        def vote(state: ABState, request: gr.Request) -> tuple[Any, ...]:
            client = client_of(request.client.host if request.client else None,
                               request.headers.get("x-forwarded-for"))
            try:
                reveal = cast_vote(state, choice, self.store, client=client)
            except VSTError as err:
                raise _fail(err) from None
            return (state, reveal, *[gr.update(interactive=False)] * 3, *self.results_now())
        return vote
