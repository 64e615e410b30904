"""One ASGI middleware that times every HTTP request and hands (scope, status, seconds) to
an observer: the access log and the Prometheus metrics both use it."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Observer = Callable[[Scope, int, float], None]


class ObserveRequests:
    """Call ``observe(scope, status, seconds)`` after each HTTP request (status 500 when the
    app raised before answering)."""

    def __init__(self, app: ASGIApp, observe: Observer) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.observe(scope, status, time.perf_counter() - start)
