"""Blind A/B votes between the two variants (temporal vs framewise), stored in SQLite, optionally synced to the Hub.

A voter sees the same clip stylized by both variants side by side, in a random order (``left_variant`` says which one
was on the left), and picks ``left``, ``right`` or ``tie``. The winning *variant* is derived from those two, so the
positions can be checked for bias separately (:attr:`Results.left_win_rate`).

Storage: one SQLite file in WAL mode (readers never block the writer), one ``votes`` table, one vote per anonymous
session and ``(style, clip)`` pair (a ``UNIQUE`` constraint). When a Hub dataset repo and a token are configured, every
vote is also appended as a JSON line to a file that :class:`huggingface_hub.CommitScheduler` pushes to the dataset
every few minutes, so votes survive a Space restart without persistent storage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import secrets
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from collections.abc import Collection, Mapping
from typing import Self

import httpx
from huggingface_hub import CommitScheduler, HfApi
from huggingface_hub.errors import HfHubHTTPError

from .. import settings
from ..catalog import VARIANTS, Catalog, Variant, load_catalog
from ..errors import VSTError, first_line

log = logging.getLogger(__name__)

CHOICES: tuple[str, ...] = ("left", "right", "tie")
#: The 97.5th percentile of the standard normal distribution (two-sided 95%).
Z95 = 1.959964
#: Folder (next to the database) whose JSONL files the CommitScheduler uploads, and their folder in the dataset repo.
SYNC_FOLDER = "hub-sync"
PATH_IN_REPO = "data"
_MAX_ID_LENGTH = 200
#: :attr:`VoteStore.sync_status` when votes are not synced (why, and how to sync them, goes to the log: the public page
#: shows no operator instructions).
LOCAL_STATUS = "Votes are kept on this server."
_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id           INTEGER PRIMARY KEY,
    style        TEXT NOT NULL,
    clip         TEXT NOT NULL,
    left_variant TEXT NOT NULL CHECK (left_variant IN ('temporal', 'framewise')),
    choice       TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie')),
    winner       TEXT NOT NULL CHECK (winner IN ('temporal', 'framewise', 'tie')),
    session      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    checkpoints  TEXT NOT NULL DEFAULT '',
    client       TEXT,
    network      TEXT NOT NULL DEFAULT 'full-size',
    UNIQUE (session, style, clip)
)
"""
#: The networks a pair can compare, each trained with the temporal loss (``left_variant`` ``temporal``) and without it
#: (``framewise``): the full-size models, or the fast network and its framewise twin.
NETWORKS: tuple[str, ...] = ("full-size", "fast")
#: The style key of the votes on a visitor's own painting (the any-painting network against the framewise teacher):
#: one fixed label for every visitor's picture (nothing of the picture is stored), counted apart from the bundled
#: styles (:attr:`Results.your_painting`).
YOUR_PAINTING = "your-painting"
_CLIENT_INDEX = "CREATE INDEX IF NOT EXISTS votes_by_client ON votes (client, created_at)"
#: Errors the Hub sync can run into (HTTP status errors, network failures, offline mode, local I/O).
_HUB_ERRORS = (HfHubHTTPError, httpx.HTTPError, OSError)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``successes / n`` (95% by default); ``(0, 1)`` if ``n == 0``."""
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


@dataclass(frozen=True)
class Tally:
    """Vote counts for one style (or all of them), by winning variant."""

    temporal_wins: int = 0
    framewise_wins: int = 0
    ties: int = 0

    @property
    def total(self) -> int:
        return self.temporal_wins + self.framewise_wins + self.ties

    @property
    def decisive(self) -> int:
        """Votes that picked a side (ties left out)."""
        return self.temporal_wins + self.framewise_wins

    @property
    def win_rate(self) -> float:
        """Share of decisive votes won by the temporal variant; NaN without decisive votes."""
        return self.temporal_wins / self.decisive if self.decisive else math.nan

    @property
    def ci95(self) -> tuple[float, float]:
        """95% Wilson interval of :attr:`win_rate`."""
        return wilson_interval(self.temporal_wins, self.decisive)


@dataclass(frozen=True)
class Results:
    """All votes: overall and per style (catalog order), plus how often each screen side won (position bias).

    ``overall``, ``per_style`` and ``per_network`` count the bundled styles only; the votes on visitors' own paintings
    are :attr:`your_painting` (the position-bias counts include them: the side does not depend on the style)."""

    overall: Tally
    per_style: dict[str, Tally]
    left_wins: int
    right_wins: int
    #: The same votes by the networks compared (:data:`NETWORKS`), those with votes only.
    per_network: dict[str, Tally] = field(default_factory=dict)
    #: The votes on visitors' own paintings (:data:`YOUR_PAINTING`), apart from the bundled styles.
    your_painting: Tally = field(default_factory=Tally)
    #: The title of each style of :attr:`per_style` that the store's catalog lists.
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def left_win_rate(self) -> float:
        """Share of decisive votes that picked the LEFT video, whichever variant it was (0.5 means no bias)."""
        decisive = self.left_wins + self.right_wins
        return self.left_wins / decisive if decisive else math.nan

    @property
    def left_ci95(self) -> tuple[float, float]:
        return wilson_interval(self.left_wins, self.left_wins + self.right_wins)


class VoteRateLimitError(VSTError):
    """One client cast more counted votes in the last minute than :attr:`VoteStore.votes_per_minute` allows."""


def client_hash(address: str, salt: str) -> str:
    """A salted hash of a network address (16 hex digits): the same address gives the same hash under one salt, and
    the address cannot be read back from it without the salt (which is never stored with the votes)."""
    return hashlib.sha256(f"{salt}\0{address}".encode()).hexdigest()[:16]


#: Salt of :func:`client_hash` when ``VST_VOTE_SALT`` is unset: random per process, so hashes link votes within one
#: run only.
_PROCESS_SALT = secrets.token_hex(16)


def client_of(address: str | None, forwarded_for: str | None = None) -> str | None:
    """The salted hash (:func:`client_hash`, salt ``VST_VOTE_SALT`` or a per-process secret) of a voter's address.

    ``address`` is the connection's peer. Behind a reverse proxy (a Hugging Face Space, where ``SPACE_ID`` is set, or
    ``VST_TRUST_PROXY=1``) every visitor arrives from the proxy, so the first address of its ``X-Forwarded-For``
    header is used instead; elsewhere that header is ignored (a script could forge it). ``None`` without an address.
    """
    if settings.trust_proxy() and forwarded_for and forwarded_for.split(",")[0].strip():
        address = forwarded_for.split(",")[0].strip()
    if not address:
        return None
    return client_hash(address, settings.vote_salt() or _PROCESS_SALT)


def _tally(counts: Mapping[str, int]) -> Tally:
    """A :class:`Tally` of ``winner`` → number of votes."""
    return Tally(counts.get(Variant.TEMPORAL, 0), counts.get(Variant.FRAMEWISE, 0), counts.get("tie", 0))


def winner_of(left_variant: str, choice: str) -> str:
    """The variant that won (``temporal``/``framewise``), or ``tie``."""
    if choice == "tie":
        return "tie"
    if choice == "left":
        return left_variant
    return VARIANTS[1 - VARIANTS.index(left_variant)]


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID_LENGTH or not value.isprintable():
        raise ValueError(f"{name} must be a non-empty printable string of at most {_MAX_ID_LENGTH} characters, "
                         f"not {value!r}")
    return value


def default_db_path() -> Path:
    """``$VST_VOTES_DB``; on a Hugging Face Space with persistent storage ``/data/vst/votes.sqlite3``; otherwise
    ``./data/votes/votes.sqlite3`` (git-ignored)."""
    configured = settings.votes_db()
    if configured is not None:
        return configured
    persistent = Path("/data")
    if settings.on_space() and persistent.is_dir() and os.access(persistent, os.W_OK):
        return persistent / "vst" / "votes.sqlite3"
    return Path("data") / "votes" / "votes.sqlite3"


class VoteStore:
    """Thread-safe vote storage (one SQLite connection behind a lock; Gradio runs handlers in threads).

    With ``hub_repo`` and ``token`` both given, votes are also appended to a JSONL file (one per process, so restarts
    never overwrite each other's file in the repo) under ``<db folder>/hub-sync/``, which a
    :class:`~huggingface_hub.CommitScheduler` pushes to the dataset repo's ``data/`` folder every
    ``sync_every_minutes``. ``hf_api`` replaces the Hub client (tests). If the dataset repo cannot be created or
    reached at startup, votes stay local and :attr:`sync_status` says why.

    Each vote may carry ``client``, a salted hash of the voter's network address (:func:`client_hash`): a client
    gets at most ``votes_per_minute`` counted votes per minute (:class:`VoteRateLimitError` beyond), and the hash,
    stored and synced with the vote, lets an analysis discount bursts from one address.

    ``catalog``: the styles a vote may name (besides :data:`YOUR_PAINTING`), in the order results list them; default:
    :func:`vst.catalog.load_catalog` at construction.
    """

    def __init__(self, path: Path, *, hub_repo: str | None = None, token: str | None = None,
                 hf_api: HfApi | None = None, sync_every_minutes: float = 5,
                 votes_per_minute: int = settings.DEFAULT_VOTES_PER_MINUTE, catalog: Catalog | None = None) -> None:
        self.path = Path(path)
        self.catalog = load_catalog() if catalog is None else catalog
        self.hub_repo = hub_repo
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        self._closed = False
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            log.warning("%s: SQLite refused WAL mode (journal mode is %s)", self.path, mode)
        self._conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses at most the last commits
        self._conn.execute(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(votes)")}
        if "checkpoints" not in columns:  # a database from before votes named their checkpoints
            self._conn.execute("ALTER TABLE votes ADD COLUMN checkpoints TEXT NOT NULL DEFAULT ''")
            log.info("%s: added the checkpoints column (older votes have an empty one)", self.path)
        if "client" not in columns:  # a database from before client hashes were recorded
            self._conn.execute("ALTER TABLE votes ADD COLUMN client TEXT")
        if "network" not in columns:  # a database from before fast pairs: every vote was on the full-size models
            self._conn.execute("ALTER TABLE votes ADD COLUMN network TEXT NOT NULL DEFAULT 'full-size'")
        self._conn.execute(_CLIENT_INDEX)
        self.votes_per_minute = votes_per_minute

        self.scheduler: CommitScheduler | None = None
        self.jsonl_path: Path | None = None
        self._sync_status: str
        if hub_repo and token:
            folder = self.path.parent / SYNC_FOLDER
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            try:
                self.scheduler = CommitScheduler(repo_id=hub_repo, repo_type="dataset", folder_path=folder,
                                                 path_in_repo=PATH_IN_REPO, every=sync_every_minutes, token=token,
                                                 hf_api=hf_api, allow_patterns=["*.jsonl"])
            except _HUB_ERRORS as err:
                reason = first_line(err)
                log.warning("votes stay local in %s: cannot use the Hub dataset %s (%s)", self.path, hub_repo, reason)
                self._sync_status = LOCAL_STATUS
            else:
                self.jsonl_path = folder / f"votes-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
                log.info("votes are stored in %s and synced to the Hub dataset %s every %g minutes",
                         self.path, hub_repo, sync_every_minutes)
                self._sync_status = f"Votes are published to the Hub dataset {hub_repo}."
        elif hub_repo:
            log.warning("votes stay local in %s: VST_VOTES_REPO is %s but no HF_TOKEN is set", self.path, hub_repo)
            self._sync_status = LOCAL_STATUS
        else:
            log.info("votes stay local in %s (set HF_TOKEN and VST_VOTES_REPO to sync them to a Hub dataset)",
                     self.path)
            self._sync_status = LOCAL_STATUS

    @classmethod
    def from_env(cls, catalog: Catalog | None = None) -> Self:
        """Database at :func:`default_db_path`, Hub dataset, token and rate limit from the environment
        (:mod:`vst.settings`: ``VST_VOTES_REPO``, ``HF_TOKEN``, ``VST_VOTES_PER_MINUTE``)."""
        return cls(default_db_path(), hub_repo=settings.votes_repo(), token=settings.hf_token(),
                   votes_per_minute=settings.votes_per_minute(), catalog=catalog)

    @property
    def sync_status(self) -> str:
        """One sentence for the public page: where the votes go (no operator instructions; those are logged)."""
        return self._sync_status

    def record(self, *, style: str, clip: str, left_variant: str, choice: str, session: str,
               checkpoints: str = "", client: str | None = None, network: str = "full-size") -> bool:
        """Store one vote; False (nothing stored) if ``session`` already voted on ``(style, clip)``.
        :class:`VoteRateLimitError` (nothing stored) if ``client`` cast ``votes_per_minute`` votes in the last minute.

        ``checkpoints`` identifies the two models that were compared (a digest of their weights, see
        :func:`vst.fingerprint.checkpoint_digest`), so results can leave out votes on older checkpoints.

        ``network`` (:data:`NETWORKS`): which networks were compared, the full-size ones or the fast network and its
        framewise twin; ``left_variant`` is then ``temporal`` for the one trained with the temporal loss.
        ``choice`` is ``left``, ``right`` or ``tie``; ``left_variant`` the variant shown on the left. ``session`` is
        an anonymous random id (e.g. Gradio's ``request.session_hash``), never a name or an IP address: it is
        published with the votes when they are synced. ``ValueError`` on an invalid value.
        """
        if style not in self.catalog and style != YOUR_PAINTING:
            raise ValueError(f"unknown style {style!r}; known styles: {', '.join(self.catalog)} and {YOUR_PAINTING}")
        _check_id("clip", clip)
        _check_id("session", session)
        if left_variant not in VARIANTS:
            raise ValueError(f"left_variant must be one of {', '.join(VARIANTS)}, not {left_variant!r}")
        if choice not in CHOICES:
            raise ValueError(f"choice must be one of {', '.join(CHOICES)}, not {choice!r}")
        if network not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
        if client is not None:
            _check_id("client", client)
        now = datetime.now(UTC)
        vote = {"style": style, "clip": clip, "left_variant": left_variant, "choice": choice,
                "winner": winner_of(left_variant, choice), "session": session,
                "created_at": now.isoformat(timespec="milliseconds"), "checkpoints": checkpoints, "client": client,
                "network": network}
        with self._lock:
            self._check_open()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if client is not None:
                    since = (now - timedelta(minutes=1)).isoformat(timespec="milliseconds")
                    recent = self._conn.execute("SELECT COUNT(*) FROM votes WHERE client = ? AND created_at > ?",
                                                (client, since)).fetchone()[0]
                    if recent >= self.votes_per_minute:
                        log.warning("client %s cast %d votes in a minute; vote refused", client, recent)
                        raise VoteRateLimitError(
                            f"Too many votes from your network in the last minute (at most {self.votes_per_minute}); "
                            f"please wait a minute and vote again.")
                cursor = self._conn.execute(
                    "INSERT INTO votes (style, clip, left_variant, choice, winner, session, created_at, checkpoints, "
                    "client, network) VALUES (:style, :clip, :left_variant, :choice, :winner, :session, :created_at, "
                    ":checkpoints, :client, :network) "
                    "ON CONFLICT (session, style, clip) DO NOTHING", vote)
                if cursor.rowcount == 0:
                    self._conn.execute("ROLLBACK")
                    log.info("session %s already voted on %s / %s; vote ignored", session, style, clip)
                    return False
                if self.scheduler is not None and self.jsonl_path is not None:
                    with self.scheduler.lock:  # never while the scheduler lists the folder to upload it
                        self.jsonl_path.parent.mkdir(parents=True, exist_ok=True)
                        with self.jsonl_path.open("a", encoding="utf-8") as f:
                            f.write(json.dumps(vote, ensure_ascii=False) + "\n")
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return True

    def has_voted(self, session: str, style: str, clip: str) -> bool:
        with self._lock:
            self._check_open()
            row = self._conn.execute("SELECT 1 FROM votes WHERE session = ? AND style = ? AND clip = ?",
                                     (session, style, clip)).fetchone()
        return row is not None

    def results(self, current: Mapping[str, str | Collection[str]] | None = None) -> Results:
        """Tallies of the stored votes (this database's; votes synced from other servers are not read back).

        ``current``: style → checkpoint digest, or the digests of each pair of networks the style has (full-size,
        fast); when given, only votes on those checkpoints count (a retrained style starts afresh, and a style not in
        it is left out)."""
        condition, params = "1", []
        if current is not None:
            pairs = [(style, digest) for style, digests in current.items()
                     for digest in ([digests] if isinstance(digests, str) else digests)]
            condition = " OR ".join("(style = ? AND checkpoints = ?)" for _ in pairs) if pairs else "0"
            params = [value for pair in pairs for value in pair]
        where, bundled = f" WHERE ({condition})", f" WHERE ({condition}) AND style != ?"
        with self._lock:
            self._check_open()
            by_style = self._conn.execute(f"SELECT style, winner, COUNT(*) FROM votes{where} GROUP BY style, winner",
                                          params).fetchall()
            by_side = dict(self._conn.execute(f"SELECT choice, COUNT(*) FROM votes{where} GROUP BY choice",
                                              params).fetchall())
            by_network = self._conn.execute(f"SELECT network, winner, COUNT(*) FROM votes{bundled} "
                                            f"GROUP BY network, winner", [*params, YOUR_PAINTING]).fetchall()
        networks: dict[str, dict[str, int]] = {}
        for network, winner, n in by_network:
            networks.setdefault(network, {})[winner] = n
        per_network = {network: _tally(c) for network in NETWORKS if (c := networks.get(network))}
        counts: dict[str, dict[str, int]] = {}
        for style, winner, n in by_style:
            counts.setdefault(style, {})[winner] = n
        your_painting = _tally(counts.pop(YOUR_PAINTING, {}))
        order = {slug: i for i, slug in enumerate(self.catalog)}
        per_style = {style: _tally(c)
                     for style, c in sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))}
        overall = Tally(sum(t.temporal_wins for t in per_style.values()),
                        sum(t.framewise_wins for t in per_style.values()),
                        sum(t.ties for t in per_style.values()))
        titles = {style: self.catalog[style].title for style in per_style if style in self.catalog}
        return Results(overall, per_style, by_side.get("left", 0), by_side.get("right", 0), per_network,
                       your_painting, titles)

    def sync_now(self, timeout: float | None = 60) -> bool:
        """Push pending votes to the Hub now and wait for it; False (logged) if not synced or the push failed."""
        if self.scheduler is None:
            return False
        try:
            self.scheduler.trigger().result(timeout=timeout)
        except (*_HUB_ERRORS, TimeoutError) as err:
            log.warning("could not push the votes to the Hub dataset %s: %s", self.hub_repo, err)
            return False
        return True

    def close(self) -> None:
        """Push the last votes (when synced), stop the scheduler and close the database. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.scheduler is not None:
            self.sync_now()
            self.scheduler.stop()
        self._conn.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"VoteStore {self.path} is closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
