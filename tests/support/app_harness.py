"""Launching the real Gradio app in tests (plain module, no fixtures): tiny styles, a free port, clean shutdown."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.support.model_fixtures import add_style_metadata, make_tiny_checkpoint, make_tiny_fast_checkpoint
from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR

#: Gradio 6.31's queue uses pandas options that pandas 3 deprecates; not ours to fix (``pytestmark`` of app tests).
IGNORE_GRADIO_PANDAS_WARNINGS = "ignore::DeprecationWarning:gradio.queueing"
#: Environment every app test runs with: no network, no analytics, no background showcase render.
OFFLINE_ENV: dict[str, str] = {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "VST_SHOWCASE": "0"}


def make_tiny_styles(root: Path, slugs: tuple[str, ...] = ("starry-night",), *, fast: tuple[str, ...] = (),
                     fast_framewise: tuple[str, ...] = (), live: tuple[str, ...] = (),
                     any_painting: bool = False) -> Path:
    """A checkpoint folder with both variants of each style in ``slugs``, the ``fast`` variant too for those in
    ``fast``, its framewise twin (``fast-framewise``) for those in ``fast_framewise`` and the Live tab's network
    (``live``) for those in ``live`` (tiny random networks, tests only), each with the bundled style's ``style.json``
    and thumbnail; ``any_painting``: the bundled any-painting network too (the real one, 0.7 MB a variant: the app's
    *Your painting* card)."""
    if any_painting:
        shutil.copytree(PACKAGE_CHECKPOINT_DIR / ANY_PAINTING, root / ANY_PAINTING)
    for i, slug in enumerate(slugs):
        add_style_metadata(root / slug, slug)
        make_tiny_checkpoint(root / slug / "temporal", seed=2 * i + 1)
        make_tiny_checkpoint(root / slug / "framewise", seed=2 * i + 2)
        if slug in fast:  # with the frame's detail, as the bundled fast networks (the Live tab runs it in the browser)
            make_tiny_fast_checkpoint(root / slug / "fast", seed=100 + i, frame_detail=1.0)
        if slug in fast_framewise:
            make_tiny_fast_checkpoint(root / slug / "fast-framewise", seed=200 + i)
        if slug in live:
            make_tiny_fast_checkpoint(root / slug / "live", seed=300 + i)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def patched_env(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block (module-scoped fixtures cannot use ``monkeypatch``)."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def running_app(config: object, store: object, showcase: object, *, checkpoints: Path | None = None) -> Iterator[str]:
    """Build and launch ``app.build_app`` on a free local port; yields its URL and closes it afterwards.

    ``checkpoints``: build the app from this checkpoint folder (``VST_CHECKPOINT_DIR`` only while building, so a
    module's other apps keep theirs); by default the environment's."""
    import app  # the top-level app.py; imported late so the environment above is in place

    with patched_env({"VST_CHECKPOINT_DIR": str(checkpoints)} if checkpoints is not None else {}):
        demo = app.build_app(config, store=store, showcase=showcase)  # type: ignore[arg-type]
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **app.launch_options(config))  # type: ignore[arg-type]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
