"""The operator's dashboard: one page served at ``/`` (HTML, CSS and JavaScript from this
package's ``static`` folder, no third-party code) that signs in with an API token and then
uses only the service's own JSON API. The page and its files hold no data, so they need no
token; a Content-Security-Policy keeps every request on this server."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(str(files("cityfocus.serve.dashboard") / "static"))
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
          "frame-ancestors 'none'; form-action 'self'")
HEADERS = [(b"content-security-policy", POLICY.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-cache")]


class _Guarded:
    """Adds the page's security headers to every answer of an ASGI app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + HEADERS
            await send(message)

        await self.app(scope, receive, sending)


def install_dashboard(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files under ``/dashboard/`` (not in the OpenAPI
    schema: they are the page, not the API)."""
    headers = {k.decode(): v.decode() for k, v in HEADERS}

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=headers)

    app.mount("/dashboard", _Guarded(StaticFiles(directory=STATIC)), name="dashboard")
