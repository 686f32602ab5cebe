"""The blind A/B vote: the pairs a visitor may be shown (the pre-rendered ones of :class:`PairPool`, and their own
latest result), each shown as a :class:`Presentation` in a random left/right order under random file names
(:class:`BlindCopies`); :func:`choose_next` picks the next pair, :func:`cast_vote` records a vote in the
:class:`~vst.app.votes.VoteStore` and :func:`reveal_text` says which was which; :func:`results_markdown` and
:func:`results_table` show the results."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import shutil
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..catalog import VARIANTS, Catalog, Style, load_catalog
from ..errors import VSTError
from .ab_pair import ABPair
from .job_activity import JobActivity
from .job_space import expiry_thread
from .served_copies import forget_served
from .showcase import CURATED_CLIPS, MIN_LONG_SIDE, load_pairs, prerender_pairs
from .votes import YOUR_PAINTING, Results, Tally, VoteStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Presentation:
    """A pair as shown: which variant is on the left (random, hidden until the visitor has voted), and the pair's style
    as the catalog describes it (``None`` for a visitor's own painting)."""

    pair: ABPair
    left_variant: str
    style: Style | None = None

    @property
    def right_variant(self) -> str:
        return VARIANTS[1 - VARIANTS.index(self.left_variant)]

    @property
    def left(self) -> Path:
        return self.pair.path(self.left_variant)

    @property
    def right(self) -> Path:
        return self.pair.path(self.right_variant)

    def caption(self) -> str:
        if self.pair.style == YOUR_PAINTING:  # a visitor's own painting: only ever offered to that visitor
            return ("**Your painting** on your own video (our steady network and the framewise teacher). Which one "
                    "flickers less and looks better?")
        style = self.style
        if style is None:
            raise KeyError(self.pair.style)  # a showcase or result pair is always of a catalog style
        what = "your own video" if self.pair.own else f"the clip “{self.pair.clip}”"
        networks = " (the fast network and its framewise twin)" if self.pair.network == "fast" else ""
        return f"**{style.title}** ({style.artist}) on {what}{networks}. Which one flickers less and looks better?"


@dataclass
class ABState:
    """One visitor's A/B state, kept in their Gradio session only: anonymous id and the pair on screen."""

    session: str | None = None
    current: Presentation | None = None
    voted: bool = False

    def ensure_session(self, browser_id: object = None) -> str:
        """The anonymous id: ``browser_id`` (kept in the visitor's browser) when it is a valid one, else a new one."""
        if self.session is None:
            self.session = browser_id if _valid_id(browser_id) else uuid.uuid4().hex
        return self.session


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and 8 <= len(value) <= 64 and all(c in "0123456789abcdef-" for c in value)


#: Left/right coin flips and showcase picks (os.urandom based, thread-safe, never seeded).
_RANDOM = random.SystemRandom()


class PairPool:
    """The pool of pre-rendered A/B pairs the vote draws from (see :mod:`vst.app.showcase`): where they are, how they
    are rendered, and a background render at start-up. ``reload_seconds``: how long :meth:`load` reuses the pairs it
    found. ``catalog``: the styles (default: :func:`vst.catalog.load_catalog` at construction)."""

    def __init__(self, cache_dir: Path, clips: Mapping[str, Path] | None = None, *, max_side: int = MIN_LONG_SIDE,
                 max_seconds: float = 4.0, reload_seconds: float = 15.0, catalog: Catalog | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.catalog = load_catalog() if catalog is None else catalog
        self.clips = dict(CURATED_CLIPS if clips is None else clips)
        self.max_side = max_side
        self.max_seconds = max_seconds
        self.reload_seconds = reload_seconds
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pairs: list[ABPair] = []
        self._loaded_at: float | None = None  # time.monotonic() of the last look-up; None: look again

    def load(self) -> list[ABPair]:
        """The pairs rendered so far for the installed styles' current checkpoints.

        Looking them up lists the styles, hashes the keys and reads every pair's ``pair.json`` (about 60 ms on a busy
        2-core machine, most of a "next pair" request), so the vote tab's requests share one look-up for
        ``reload_seconds`` (a render running elsewhere shows its new pairs that much later); this object's own render
        makes the next call look again."""
        with self._lock:
            now = time.monotonic()
            if self._loaded_at is None or now - self._loaded_at >= self.reload_seconds:
                pairs = load_pairs(self.cache_dir, clips=self.clips, max_side=self.max_side,
                                   max_seconds=self.max_seconds, catalog=self.catalog)
                self._pairs, self._loaded_at = pairs, now
            return list(self._pairs)

    def _reload(self) -> None:
        with self._lock:
            self._loaded_at = None

    def prerender(self, device: str | None = None, activity: JobActivity | None = None) -> list[ABPair]:
        """Render the missing pairs now (blocking). With ``activity``, the render pauses between frame batches while
        a stylize job runs: visitors come first. The vote tab sees each pair as soon as it is rendered."""
        rendering = ""

        def yield_to_jobs(fraction: float, description: str) -> None:
            nonlocal rendering
            if description != rendering:  # the previous pair is finished
                rendering = description
                self._reload()
            if activity is not None and activity.busy:
                log.info("showcase render paused while a stylize job runs (%s, %.0f%% done)", description,
                         fraction * 100)
                activity.wait_idle()

        try:
            pairs = prerender_pairs(self.cache_dir, clips=self.clips, max_side=self.max_side,
                                    max_seconds=self.max_seconds, device=device, progress=yield_to_jobs,
                                    catalog=self.catalog)
        finally:
            self._reload()  # the vote tab sees the new pairs at once
        return pairs

    def start_prerender(self, device: str | None = None, activity: JobActivity | None = None) -> threading.Thread:
        """Render the missing pairs in a daemon thread that yields to stylize jobs (see :meth:`prerender`); failures
        are logged (the vote tab shows what is ready)."""
        def work() -> None:
            try:
                pairs = self.prerender(device, activity)
            except (VSTError, ValueError, OSError) as err:
                log.error("could not pre-render the A/B showcase: %s", err)
            else:
                log.info("A/B showcase ready: %d pair(s) in %s", len(pairs), self.cache_dir)

        self._thread = threading.Thread(target=work, name="vst-showcase", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def rendering(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class BlindCopies:
    """Copies of A/B videos under random names: the served file name (and a download) must not give the variant away.

    One copy per source file and process (``<root>/<random>.mp4``). A copy lives ``ttl_seconds`` (the session TTL)
    after it was last handed out, then it is deleted: whenever a copy is made, and every ``ttl_seconds / 4`` (at
    most a minute) by the thread :meth:`start_expiry` starts, so an idle server deletes them too.
    """

    def __init__(self, root: Path, ttl_seconds: float) -> None:
        self.root = Path(root)
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._names: dict[Path, Path] = {}
        self._expiry: threading.Thread | None = None

    def start_expiry(self) -> threading.Thread:
        """Delete expired copies in a daemon thread, every ``ttl_seconds / 4`` (between 1 s and 60 s)."""
        if self._expiry is None:
            self._expiry = expiry_thread("vst-blind-expiry", self.ttl_seconds, self._locked_prune,
                                         f"expired A/B copies in {self.root}")
        return self._expiry

    def _locked_prune(self) -> None:
        with self._lock:
            self._prune()

    def get(self, source: Path) -> Path:
        """The copy of ``source`` (made now if there is none). Handing out an existing copy touches only that file:
        listing the folder for expired copies, under the lock, made 50 concurrent voters wait for each other."""
        source = Path(source)
        with self._lock:
            copy = self._names.get(source)
            if copy is not None:
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile: a new copy below
                    if copy.stat().st_mtime >= time.time() - self.ttl_seconds:  # not expired (the thread may lag)
                        os.utime(copy)  # handed out again: it lives another TTL
                        return copy
            self._prune()
            self.root.mkdir(parents=True, exist_ok=True)
            copy = self.root / f"{uuid.uuid4().hex}{source.suffix}"
            shutil.copyfile(source, copy)
            self._names[source] = copy
            return copy

    def _prune(self) -> None:
        if not self.root.is_dir():
            return
        cutoff = time.time() - self.ttl_seconds
        for path in self.root.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    forget_served(path)  # Gradio's served copy stops working now, too
                    path.unlink()
        self._names = {src: dst for src, dst in self._names.items() if dst.is_file()}


def choose_next(state: ABState, own: ABPair | None, showcase: Sequence[ABPair], store: VoteStore,
                rng: random.Random = _RANDOM) -> Presentation | None:
    """The next pair for this visitor: their own latest result first, then a random showcase pair; never one this
    session has voted on, nor the one on screen (unless it is the last). Left/right is a fresh coin flip; the style's
    entry comes from the store's catalog."""
    session = state.ensure_session()
    candidates = ([own] if own is not None else []) + list(showcase)
    unvoted = [p for p in candidates if p.available() and not store.has_voted(session, p.style, p.clip)]
    if not unvoted:
        return None
    if own is not None and own in unvoted:
        pair = own
    else:
        on_screen = state.current.pair if state.current else None
        pair = rng.choice([p for p in unvoted if p != on_screen] or unvoted)
    return Presentation(pair, rng.choice(VARIANTS), store.catalog.get(pair.style))


def should_refresh(state: ABState, own: ABPair | None, store: VoteStore) -> bool:
    """Whether opening the vote tab should bring a new pair: nothing on screen, already voted, or the visitor has a
    new own result that is not on screen yet."""
    if state.current is None or state.voted:
        return True
    return (own is not None and state.current.pair != own and own.available()
            and not store.has_voted(state.ensure_session(), own.style, own.clip))


def cast_vote(state: ABState, choice: str, store: VoteStore, *, client: str | None = None) -> str:
    """Record this visitor's vote on the pair on screen and return the reveal text (Markdown). ``client``: the
    salted hash of the visitor's address (:func:`vst.app.votes.client_of`), which the store rate-limits."""
    shown = state.current
    if shown is None:
        raise VSTError("There is no pair on screen to vote on; press “Next pair”.")
    if choice not in ("left", "right", "tie"):
        raise VSTError(f"Unknown choice '{choice}'.")
    counted = store.record(style=shown.pair.style, clip=shown.pair.clip, left_variant=shown.left_variant,
                           choice=choice, session=state.ensure_session(), checkpoints=shown.pair.checkpoints,
                           client=client, network=shown.pair.network)
    state.voted = True
    reveal = reveal_text(shown, choice)
    if not counted:
        reveal = f"You had already voted on this pair, so this vote was not counted. {reveal}"
    return reveal


def reveal_text(shown: Presentation, choice: str) -> str:
    """After a vote: which variant was where, and what the visitor's choice means."""
    left, right = shown.pair.label(shown.left_variant), shown.pair.label(shown.right_variant)
    if choice == "tie":
        verdict = "You couldn't tell them apart."
    else:
        winner = shown.left_variant if choice == "left" else shown.right_variant
        verdict = f"You preferred **{shown.pair.label(winner)}**."
    return f"Left was **{left}**, right was **{right}**. {verdict} Thanks for voting!"


def _votes(n: int) -> str:
    return "1 vote" if n == 1 else f"{n} votes"


def _percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.0f}%"


def _interval(ci: tuple[float, float], n: int) -> str:
    return "—" if n == 0 else f"{ci[0] * 100:.0f}–{ci[1] * 100:.0f}%"


def results_markdown(results: Results, sync_status: str) -> str:
    """The vote results in a few lines: overall win rate with its 95% Wilson interval, counts, position bias."""
    overall: Tally = results.overall
    painting = results.your_painting
    if overall.total == 0 and painting.total == 0:
        return f"No votes yet: be the first! {sync_status}"
    side_n = results.left_wins + results.right_wins
    preference = (f"**Temporal (ours) preferred in {_percent(overall.win_rate)} of decisive votes** "
                  f"(95% CI {_interval(overall.ci95, overall.decisive)}): {overall.temporal_wins} for temporal, "
                  f"{overall.framewise_wins} for framewise, {overall.ties} can't tell ({_votes(overall.total)}).")
    position = (f"Position-bias check: the left video won {_percent(results.left_win_rate)} of decisive votes "
                f"(95% CI {_interval(results.left_ci95, side_n)}; near 50% means the side does not matter).")
    by_network = ""
    if "fast" in results.per_network:  # the fast network against its framewise twin, apart from the full-size ones
        by_network = "By network: " + "; ".join(
            f"{'fast network vs its framewise twin' if name == 'fast' else 'full-size models'}: temporal preferred "
            f"in {_percent(tally.win_rate)} of {_votes(tally.decisive).replace('vote', 'decisive vote')}"
            for name, tally in results.per_network.items()) + ".\n\n"
    if overall.total == 0:
        preference = "No votes on the bundled styles yet."
    yours = ""
    if painting.total:  # visitors' own pictures, apart: each vote judged a different painting
        yours = (f"Visitors' own paintings, counted apart (the any-painting network vs the framewise teacher): "
                 f"temporal preferred in {_percent(painting.win_rate)} of "
                 f"{_votes(painting.decisive).replace('vote', 'decisive vote')} "
                 f"(95% CI {_interval(painting.ci95, painting.decisive)}; {_votes(painting.total)}).\n\n")
    return f"{preference}\n\n{by_network}{yours}{position}\n\n{sync_status}"


#: The results table's row of the votes on visitors' own paintings (after ``all styles``, which leaves them out).
YOUR_PAINTING_ROW = "your painting (visitors' own, not in all styles)"
RESULT_COLUMNS = ["style", "temporal wins", "framewise wins", "can't tell", "temporal win rate", "95% CI"]


def results_table(results: Results) -> pd.DataFrame:
    """One row per style with votes (named by its title), then ``all styles``, then (with votes) ``your painting
    (visitors' own)``, which ``all styles`` does not count."""
    rows = []
    yours = [(YOUR_PAINTING_ROW, results.your_painting)] if results.your_painting.total else []
    for slug, tally in [*results.per_style.items(), ("", results.overall), *yours]:
        name = results.titles.get(slug, slug or "all styles")
        rows.append([name, tally.temporal_wins, tally.framewise_wins, tally.ties, _percent(tally.win_rate),
                     _interval(tally.ci95, tally.decisive)])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
