"""``cityfocus serve`` (the live service) and ``cityfocus token`` (its API tokens).

Both open the same store: ``--data-dir DIR`` (SQLite, default ``./cityfocus-data/``) or
``--db URL`` (PostgreSQL). The service's modules load only when a verb runs, so the command
starts fast and loads no torch.
"""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from cityfocus.cli.app import app
from cityfocus.errors import CityfocusError

if TYPE_CHECKING:
    from cityfocus.serve.store.engine import Store

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


def _note(message: str) -> None:
    """A line for the operator on stderr (unwrapped, so paths stay whole)."""
    print(message, file=sys.stderr, flush=True)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so a busy port or a bad host is one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise CityfocusError(f"--host {host!r}: not an address this machine can listen on "
                             f"({getattr(err, 'strerror', None) or err})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise CityfocusError(f"--port {port}: {host}:{port} is already in use; stop what "
                                 "listens there or give another --port") from None
        raise CityfocusError(f"--host {host} --port {port}: cannot listen there: "
                             f"{err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535,
                             help="Port to listen on (0: any free port)."),
    data_dir: Path | None = _data_dir_option(),
    db: str | None = _db_option(),
) -> None:
    """Run the service (OpenAPI at /docs; stops gracefully on SIGTERM or Ctrl-C)."""
    sock = _listen(host, port)
    try:
        store = _open(data_dir, db)
    except BaseException:
        sock.close()
        raise
    import uvicorn

    from cityfocus.serve.app import create_app

    bound = sock.getsockname()
    _note(f"cityfocus serve on http://{host}:{bound[1]} (OpenAPI at /docs)")
    config = uvicorn.Config(create_app(store), access_log=False, log_level="info",
                            timeout_graceful_shutdown=10)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
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
