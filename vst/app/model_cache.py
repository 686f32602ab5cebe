"""The networks loaded once per server and shared by every stylize job (:class:`ModelCache`), with the internal scale
at which the fast network keeps up in real time."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..catalog import Variant
from ..checkpoint_check import load_network
from ..errors import CheckpointError
from ..pipeline import Stylizer, select_device
from ..realtime import ScaleChoice, choose_scale

log = logging.getLogger(__name__)


class ModelCache:
    """Loaded networks, one :class:`Stylizer` per (style, variant), shared by all jobs (thread-safe)."""

    def __init__(self, device: str | None, *, compile: bool = False) -> None:
        self.device = select_device(device)
        self.compile = compile
        self._lock = threading.Lock()
        self._stylizers: dict[tuple[str, str], Stylizer] = {}
        #: (slug, variant, scale) → (the full-scale stylizer it shares its network with, the scaled stylizer)
        self._scaled: dict[tuple[str, str, float], tuple[Stylizer, Stylizer]] = {}
        self._choices: dict[tuple[str, str, int, int, float], ScaleChoice] = {}
        self._folders: dict[tuple[str, str], Path] = {}

    def stylizer(self, slug: str, variant: str, folder: Path, scale: float = 1.0) -> Stylizer:
        """The shared :class:`Stylizer` of ``slug``'s ``variant`` network at internal ``scale`` (see
        :class:`vst.pipeline.Stylizer`); :class:`CheckpointError` with a visitor's line if it cannot be loaded."""
        if scale != 1.0:
            full = self.stylizer(slug, variant, folder)
            key = (slug, variant, scale)
            with self._lock:
                if self._scaled.get(key, (None, None))[0] is not full:
                    self._scaled[key] = (full, Stylizer(full.model, self.device, compile=self.compile, scale=scale))
                return self._scaled[key][1]
        key = (slug, variant)
        with self._lock:
            if key not in self._stylizers or self._folders[key] != folder:
                try:
                    network = load_network(folder)
                except CheckpointError as err:  # damaged since start-up: the visitor gets no server path
                    log.error("cannot load '%s' (%s): %s", slug, variant, err)
                    raise CheckpointError(f"The style '{slug}' cannot be used right now: its {variant} model "
                                          f"is damaged on this server. Please pick another style.") from None
                self._stylizers[key] = Stylizer(network, self.device, compile=self.compile)
                self._folders[key] = folder
            return self._stylizers[key]

    def realtime_choice(self, slug: str, folder: Path, width: int, height: int, fps: float) -> ScaleChoice:
        """The internal scale at which ``slug``'s fast network keeps up with a ``width``×``height`` clip at ``fps``
        on this server (:func:`vst.realtime.choose_scale`: measured once per style, size and rate, then reused)."""
        key = (slug, str(folder), width, height, round(fps, 3))
        with self._lock:
            if key in self._choices:
                return self._choices[key]
        network = self.stylizer(slug, Variant.FAST, folder).model
        choice = choose_scale(network, width, height, fps, device=str(self.device))
        log.info("%s at %dx%d, %.2f fps: %s (%.1f fps measured)", slug, width, height, fps,
                 choice.describe(width, height), 1 / choice.seconds_per_frame)
        with self._lock:
            self._choices[key] = choice
        return choice
