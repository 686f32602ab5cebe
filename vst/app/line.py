"""The line of stylize jobs on this server: which run, which wait, and an honest estimate of each wait.

A job is planned as one or more render *stages* (:class:`Stage`: the variants rendered together, the frames and the
pixels per frame). :class:`SpeedLog` keeps what this server measured for each kind of stage, in seconds per frame and
megapixel, from the stages that finished (the newest weigh most: a busy server is slower). :class:`JobLine` admits
``slots`` jobs at once in arrival order and lets at most ``size`` wait; a waiting job's wait is the running jobs' time
left (as they report it while rendering) plus the estimated time of every job ahead of it. Where nothing has been
measured yet, the wait is ``None`` (unknown), never a guess.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import VSTError


class QueueFullError(VSTError):
    """Every place in the line is taken (``VST_QUEUE_SIZE`` jobs wait already)."""


@dataclass(frozen=True)
class Stage:
    """One render pass of a job: the variants rendered together from one decode, over ``frames`` frames of
    ``pixels`` pixels each (after the server's downscaling)."""

    variants: tuple[str, ...]
    frames: int
    pixels: int

    @property
    def kind(self) -> tuple[str, ...]:
        return tuple(sorted(self.variants))

    @property
    def megapixel_frames(self) -> float:
        return self.frames * self.pixels / 1e6


class SpeedLog:
    """Seconds per frame and megapixel of each kind of stage, as measured on this server (thread-safe). Each new
    measurement moves the figure halfway towards it, so the estimate follows the server's load."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rates: dict[tuple[str, ...], float] = {}

    def record(self, stage: Stage, seconds: float) -> None:
        """A finished ``stage`` took ``seconds`` (ignored when it rendered nothing)."""
        if stage.megapixel_frames <= 0 or not seconds > 0:
            return
        rate = seconds / stage.megapixel_frames
        with self._lock:
            old = self._rates.get(stage.kind)
            self._rates[stage.kind] = rate if old is None else (old + rate) / 2

    def rate(self, kind: tuple[str, ...]) -> float | None:
        with self._lock:
            return self._rates.get(tuple(sorted(kind)))

    def estimate(self, stages: Sequence[Stage]) -> float | None:
        """Seconds ``stages`` should take at the measured speeds; ``None`` if a kind was never measured here."""
        total = 0.0
        for stage in stages:
            rate = self.rate(stage.kind)
            if rate is None:
                return None
            total += rate * stage.megapixel_frames
        return total


@dataclass(eq=False)
class Ticket:
    """One job's place in the line. ``left``: seconds the running job still needs, as it last reported (``None``
    before its first report)."""

    stages: tuple[Stage, ...]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float | None = None  # time.monotonic() when it began to run
    left: float | None = None


@dataclass(frozen=True)
class Place:
    """Where a waiting job stands: ``position`` 1 is next; ``running`` jobs run now, ``waiting`` wait ahead of it;
    ``seconds``: the estimated wait (``None`` while it cannot be estimated honestly)."""

    position: int
    running: int
    waiting: int
    seconds: float | None


class JobLine:
    """At most ``slots`` jobs run at once; the others wait in arrival order, at most ``size`` of them."""

    def __init__(self, slots: int, size: int, speed: SpeedLog | None = None) -> None:
        if slots < 1 or size < 0:
            raise ValueError(f"need slots >= 1 and size >= 0, not {slots} and {size}")
        self.slots = slots
        self.size = size
        self.speed = SpeedLog() if speed is None else speed
        self._changed = threading.Condition()
        self._running: list[Ticket] = []
        self._waiting: list[Ticket] = []

    def join(self, stages: Sequence[Stage]) -> Ticket:
        """A ticket for a job of ``stages``: running at once when a slot is free and nobody waits, else waiting.
        :class:`QueueFullError` when ``size`` jobs wait already."""
        ticket = Ticket(tuple(stages))
        with self._changed:
            if len(self._running) < self.slots and not self._waiting:
                self._start(ticket)
            elif len(self._waiting) >= self.size:
                raise QueueFullError(f"This server is busy: {len(self._waiting)} videos are waiting already. Please "
                                     f"try again in a few minutes.")
            else:
                self._waiting.append(ticket)
        return ticket

    def wait(self, ticket: Ticket, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``ticket`` to run; True once it runs."""
        with self._changed:
            return self._changed.wait_for(lambda: ticket in self._running, timeout)

    def running(self, ticket: Ticket) -> bool:
        with self._changed:
            return ticket in self._running

    def report(self, ticket: Ticket, seconds_left: float | None) -> None:
        """The running job ``ticket`` needs about ``seconds_left`` more seconds."""
        ticket.left = seconds_left

    def leave(self, ticket: Ticket) -> None:
        """``ticket`` is done (or gave up): the next waiting jobs take the free slots."""
        with self._changed:
            if ticket in self._running:
                self._running.remove(ticket)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            while self._waiting and len(self._running) < self.slots:
                self._start(self._waiting.pop(0))
            self._changed.notify_all()

    def _start(self, ticket: Ticket) -> None:
        ticket.started = time.monotonic()
        self._running.append(ticket)

    def place(self, ticket: Ticket) -> Place | None:
        """Where ``ticket`` waits (``None`` once it runs or left): its position and the estimated wait, i.e. when a
        slot frees for it after the running jobs' time left and every job ahead of it, each in the first free slot."""
        with self._changed:
            if ticket not in self._waiting:
                return None
            index = self._waiting.index(ticket)
            ahead = self._waiting[:index]
            running = list(self._running)
        slots: list[float | None] = [self._left(t) for t in running] + [0.0] * (self.slots - len(running))
        seconds: float | None = None
        if all(s is not None for s in slots):
            free = sorted(s for s in slots if s is not None)
            for job in ahead:
                estimate = self.speed.estimate(job.stages)
                if estimate is None:
                    break
                free[0] += estimate
                free.sort()
            else:
                seconds = free[0]
        return Place(index + 1, len(running), len(ahead), seconds)

    def _left(self, ticket: Ticket) -> float | None:
        """A running job's time left: its own report, else its estimate less the time it has run."""
        if ticket.left is not None:
            return ticket.left
        estimate = self.speed.estimate(ticket.stages)
        if estimate is None:
            return None
        return max(0.0, estimate - (time.monotonic() - (ticket.started or time.monotonic())))

    @property
    def counts(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._changed:
            return len(self._running), len(self._waiting)
