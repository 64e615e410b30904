"""``cityfocus serve`` (the live service) and ``cityfocus token`` (its API tokens).

Both open the same store: ``--data-dir DIR`` (SQLite, default ``./cityfocus-data/``) or
``--db URL`` (PostgreSQL). The service's modules load only when a verb runs, so the command
starts fast and loads no torch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cityfocus.cli.app import app
from cityfocus.cli.serve_processes import ApiProcesses, bind, stop_with_parent
from cityfocus.errors import CityfocusError

if TYPE_CHECKING:
    import uvicorn

    from cityfocus.serve.store.engine import Store

DB_ENV = "CITYFOCUS_DB"
PARENT_ENV = "CITYFOCUS_WORKER_PARENT"  # a worker started by serve stops when serve is gone

token_app = typer.Typer(help="API tokens of cityfocus serve (scopes read, write, admin).",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")


def _data_dir_option() -> Path | None:
    return typer.Option(None, "--data-dir", help="The service's data folder (SQLite store; "
                        "default ./cityfocus-data/, created when missing).")


def _db_option() -> str | None:
    return typer.Option(None, "--db", help="A database URL instead of --data-dir, e.g. "
                        "postgresql+psycopg://user@127.0.0.1:5432/cityfocus.")


def _open(data_dir: Path | None, db: str | None) -> Store:
    from cityfocus.serve.bootstrap import bootstrap
    from cityfocus.serve.store.engine import open_store

    store = open_store(data_dir, db)
    done = bootstrap(store)
    if done.preloaded:
        _note(f"preloaded the embedded city {done.preloaded!r}")
    if done.admin_token is not None:
        _note(f"first admin token written to {done.admin_token} (mode 0600)")
    if done.admin_token_needed:
        _note("no API token yet: make one with cityfocus token create --scope admin --db URL")
    return store


def _browsable(host: str) -> str:
    """The host to type in a browser for a listening address (any-address: this machine)."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _note(message: str) -> None:
    """A line for the operator on stderr (unwrapped, so paths stay whole)."""
    print(message, file=sys.stderr, flush=True)


serve_app = typer.Typer(help="Run the live service (OpenAPI at /docs); `serve worker` runs "
                        "its jobs.", invoke_without_command=True)
app.add_typer(serve_app, name="serve")


@serve_app.callback()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535,
                             help="Port to listen on (0: any free port)."),
    data_dir: Path | None = _data_dir_option(),
    db: str | None = _db_option(),
    workers: int = typer.Option(1, "--workers", min=0, max=64,
                                help="Worker processes to start for jobs (0: none; run "
                                "`cityfocus serve worker` yourself)."),
    api_processes: int = typer.Option(1, "--api-processes", min=1, max=64,
                                      help="API processes answering on the port (each its "
                                      "own Python process; they share the database)."),
) -> None:
    """Run the service (OpenAPI at /docs; stops gracefully on SIGTERM or Ctrl-C)."""
    if ctx.invoked_subcommand is not None:
        return
    several = api_processes > 1
    if several:  # first without SO_REUSEPORT: a port another service shares is in use too
        probe = bind(host, port, listen=False)
        port = probe.getsockname()[1]
        probe.close()
    sock = bind(host, port, shared=several, listen=not several)
    try:
        store = _open(data_dir, db)
    except BaseException:
        sock.close()
        raise
    bound = sock.getsockname()
    _note(f"cityfocus serve on http://{host}:{bound[1]} (OpenAPI at /docs)")
    _note(f"dashboard: open http://{_browsable(host)}:{bound[1]}/ and sign in with an API token"
          + ("" if store.data_dir is None
             else f" (the first admin token is in {store.data_dir / 'admin-token'})"))
    children = [_start_worker(store) for _ in range(workers)]
    if children:
        _note(f"started {len(children)} worker process(es) for jobs")
    stopped_by = None
    try:
        if several:
            stopped_by = _run_api_processes(store, host, int(bound[1]), api_processes)
        else:
            _server(store).run(sockets=[sock])
    finally:
        _stop_workers(children)
        sock.close()
        store.close()
    if stopped_by is not None:  # exit as uvicorn does: by the signal, so the status says it
        signal.signal(stopped_by, signal.SIG_DFL)
        os.kill(os.getpid(), stopped_by)


def _server(store: Store) -> uvicorn.Server:
    """The uvicorn server of one API process over ``store``."""
    import uvicorn

    from cityfocus.serve.app import create_app

    return uvicorn.Server(uvicorn.Config(create_app(store), access_log=False,
                                         log_level="info", timeout_graceful_shutdown=10))


def _run_api_processes(store: Store, host: str, port: int, count: int) -> int:
    """Run ``count`` API processes on ``host:port`` until SIGTERM or Ctrl-C; that signal."""
    env = dict(os.environ)
    store_args: list[str] = []
    if store.data_dir is not None:
        store_args = ["--data-dir", str(store.data_dir)]
    else:
        env[DB_ENV] = store.url.render_as_string(hide_password=False)
    store.close()  # each process opens its own; the parent needs none meanwhile
    return ApiProcesses(host, port, count, store_args, env).run(_note)


@serve_app.command("api-process", hidden=True)
def serve_api_process(
    host: str = typer.Option(..., "--host"),
    port: int = typer.Option(..., "--port"),
    data_dir: Path | None = _data_dir_option(),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV),
) -> None:
    """One of ``cityfocus serve --api-processes N``'s API processes (started by it)."""
    from cityfocus.serve.store.engine import open_store

    sock = bind(host, port, shared=True)
    store = open_store(data_dir, db, migrate=False)  # the parent migrated it
    try:
        server = _server(store)
        stop_with_parent(server)
        server.run(sockets=[sock])
    finally:
        sock.close()
        store.close()


def _start_worker(store: Store) -> subprocess.Popen[bytes]:
    """A ``cityfocus serve worker`` child on the same store (a ``--db`` URL goes through the
    environment, not the command line, so its password is not in the process list)."""
    env = dict(os.environ, **{PARENT_ENV: str(os.getpid())})
    command = [sys.executable, "-m", "cityfocus", "serve", "worker"]
    if store.data_dir is not None:
        command += ["--data-dir", str(store.data_dir)]
    else:
        env[DB_ENV] = store.url.render_as_string(hide_password=False)
    return subprocess.Popen(command, env=env)


def _stop_workers(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each worker (a job in flight is handed back to the queue), then wait. (When
    uvicorn re-raises SIGTERM this is skipped; the workers then notice their parent is
    gone and stop by themselves.)"""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@serve_app.command("worker")
def serve_worker(
    data_dir: Path | None = _data_dir_option(),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV,
                                  help="A database URL instead of --data-dir (or the "
                                  f"{DB_ENV} environment variable)."),
    stale_after: float = typer.Option(30.0, "--stale-after", min=1.0,
                                      help="Seconds without a heartbeat after which another "
                                      "worker's running job counts as interrupted."),
    once: bool = typer.Option(False, "--once", help="Exit when no job is queued."),
) -> None:
    """Run jobs (training, retraining) from the service's store until SIGTERM or Ctrl-C.

    A job left running by a worker that stopped is re-queued once, then failed."""
    from cityfocus.cli.serve_compute import train
    from cityfocus.serve.jobs.worker import Worker
    from cityfocus.serve.store.engine import open_store, shown_url

    store = open_store(data_dir, db)
    parent = os.environ.get(PARENT_ENV, "")
    worker = Worker(store, train, stale_after=stale_after,
                    parent=int(parent) if parent.isdigit() else None)
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: worker.stop.set())
    _note(f"cityfocus serve worker {worker.name} on {shown_url(store.url)}")
    try:
        worker.run(once=once)
    finally:
        store.close()


@token_app.command("create")
def token_create(
    scope: str = typer.Option(..., "--scope", help="read, write or admin (each may do what "
                              "the ones before it may)."),
    city: list[str] | None = typer.Option(None, "--city", help="Limit the token to this city "
                                          "(repeat for more; default: every city)."),
    name: str | None = typer.Option(None, "--name", help="A name to recognise it by."),
    data_dir: Path | None = _data_dir_option(),
    db: str | None = _db_option(),
) -> None:
    """Make a token and print its secret, once (the store keeps only its hash)."""
    from cityfocus.serve.tokens.service import create_token

    store = _open(data_dir, db)
    try:
        with store.session() as session:
            info, secret = create_token(session, scope, city, name)
    finally:
        store.close()
    _note(f"token {info.id} ({info.scope}"
          f"{', ' + ', '.join(info.cities) if info.cities else ''}); "
          "its secret is shown this once:")
    print(secret)


@token_app.command("list")
def token_list(data_dir: Path | None = _data_dir_option(), db: str | None = _db_option()) -> None:
    """List the tokens (never their secrets)."""
    from cityfocus.serve.tokens.service import list_tokens

    store = _open(data_dir, db)
    try:
        with store.session() as session:
            tokens = list_tokens(session)
    finally:
        store.close()
    table = Table("id", "name", "scope", "cities", "created", "state")
    for t in tokens:
        table.add_row(str(t.id), t.name, t.scope, ", ".join(t.cities) if t.cities else "all",
                      t.created_at, "revoked" if t.revoked else "live")
    Console().print(table)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., metavar="ID", help="The token's id."),
                 data_dir: Path | None = _data_dir_option(),
                 db: str | None = _db_option()) -> None:
    """Revoke a token: it answers 401 from now on."""
    from cityfocus.serve.errors import NotFound
    from cityfocus.serve.tokens.service import revoke_token

    store = _open(data_dir, db)
    try:
        with store.session() as session:
            info = revoke_token(session, token_id)
    except NotFound as err:
        raise CityfocusError(f"ID {token_id}: {err.message}; see cityfocus token list") from None
    finally:
        store.close()
    print(f"token {info.id} revoked")
