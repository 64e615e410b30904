"""The FastAPI application: routers, error answers, access log, health and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.errors import (
    ServiceError,
    Unauthorized,
    Unprocessable,
    validation_error,
)
from cityfocus.serve.logs import configure_access_log, log_access
from cityfocus.serve.observe import ObserveRequests
from cityfocus.serve.store.engine import Store


def create_app(store: Store) -> FastAPI:
    """The service over an open, migrated ``store`` (see ``store.open_store``)."""
    from cityfocus.serve.cities.router import router as cities
    from cityfocus.serve.dashboard import install_dashboard
    from cityfocus.serve.decisions.curve import router as curve
    from cityfocus.serve.decisions.router import router as decisions
    from cityfocus.serve.jobs.router import router as jobs
    from cityfocus.serve.models.router import router as models
    from cityfocus.serve.observations.router import router as observations
    from cityfocus.serve.outcomes.router import router as outcomes
    from cityfocus.serve.tokens.router import me_router
    from cityfocus.serve.tokens.router import router as tokens
    from cityfocus.serve.zones.router import router as zones

    app = FastAPI(title="cityfocus", version=_version(),
                  description="Where should the city spend its attention next: cities, "
                  "observations, decisions and what-ifs. Send `Authorization: Bearer <token>`"
                  " (see docs/serve.md).")
    app.state.store = store
    app.state.forecasts = ForecastCache()
    for router in (cities, observations, decisions, tokens):
        app.include_router(router)
    app.include_router(models)
    app.include_router(jobs)
    app.include_router(outcomes)
    app.include_router(curve)
    app.include_router(zones)
    app.include_router(me_router)
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    configure_access_log()
    app.add_middleware(ObserveRequests, observe=log_access)
    from cityfocus.serve.metrics import install_metrics  # GET /metrics, latency, counters

    install_metrics(app)
    install_dashboard(app)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:  # async: answers even when every thread is busy
        """The process is up (no token needed)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "not ready"}})
    def readyz() -> JSONResponse:
        """The database answers and its schema is at the newest migration (no token)."""
        ok, why = store.ready()
        return JSONResponse({"status": "ready" if ok else "not ready", "detail": why},
                            status_code=200 if ok else 503)

    return app


def _version() -> str:
    """The installed package's version (not ``cityfocus.__version__``: importing the
    top-level package would tie the service to its lazy torch names)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cityfocus")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0+unknown"


def _service_error(_request: Request, err: ServiceError) -> JSONResponse:
    detail: Any = err.detail() if isinstance(err, Unprocessable) else err.message
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(err, Unauthorized) else None
    return JSONResponse({"detail": detail}, status_code=err.status, headers=headers)
