"""Cross-origin isolation of the app's pages, so the Live tab's onnxruntime-web may run WASM on several threads.

WebAssembly threads share memory through ``SharedArrayBuffer``, which browsers only give a *cross-origin-isolated*
page: its top-level document is served with ``Cross-Origin-Opener-Policy: same-origin`` and every document in the
frame tree (the Gradio page, the Live iframe, the runtime's workers) with a ``Cross-Origin-Embedder-Policy``.
:class:`CrossOriginIsolation` adds both headers to every HTTP response of the app (a response that sets its own keeps
it). The embedder policy is ``credentialless``: cross-origin resources without a ``Cross-Origin-Resource-Policy``
header still load, without cookies (``require-corp`` would block them), and a browser that does not know it leaves
the page unisolated, where the Live page runs one thread and says so.

Where the app is itself embedded cross-origin (a Hugging Face Space inside huggingface.co's page), the embedding
page is not isolated, so neither is the app; the headers are harmless there.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The headers added to every response (lower-case names, as ASGI carries them).
HEADERS: tuple[tuple[str, str], ...] = (
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-embedder-policy", "credentialless"),
)


class CrossOriginIsolation:
    """ASGI middleware: adds :data:`HEADERS` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_isolated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_isolated)


def isolation_middleware() -> list[Middleware]:
    """The ``middleware`` argument of the app's FastAPI constructor (``launch(app_kwargs={"middleware": ...})``)."""
    return [Middleware(CrossOriginIsolation)]
