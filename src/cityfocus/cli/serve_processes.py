"""Several API processes behind one port (``cityfocus serve --api-processes N``).

Each API process binds the port itself with ``SO_REUSEPORT``, so the kernel spreads new
connections across them (a listening socket shared by all would let whichever process wakes
first take every waiting connection). The parent holds the port bound but not listening (so
no connection waits on it, and the port stays this service's between restarts of a child),
starts the processes, restarts one that stops, and on SIGTERM or Ctrl-C stops them all
gracefully. Each process opens the store itself; they share only the database.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cityfocus.errors import CityfocusError

if TYPE_CHECKING:
    import uvicorn

PARENT_ENV = "CITYFOCUS_SERVE_PARENT"  # an API process stops when the serve that started it is gone
QUICK_EXIT_SECONDS = 5.0  # a process that stops sooner after starting is not restarted


def bind(host: str, port: int, *, shared: bool = False, listen: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port`` (listening unless ``listen`` is False), made now so
    a busy port or a bad host is one line. ``shared``: with ``SO_REUSEPORT``, for several
    API processes on one port.

    Raises:
        CityfocusError: the host is not an address here, or the port is in use.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise CityfocusError(f"--host {host!r}: not an address this machine can listen on "
                             f"({getattr(err, 'strerror', None) or err})") from None
    family, _, proto, _, address = infos[0]
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it every keep-alive answer waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if listen:
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


@dataclass
class ApiProcesses:
    """``count`` API processes (``cityfocus serve api-process``) on ``host:port``.

    Attributes:
        store_args: ``--data-dir DIR`` (or nothing: the URL is in ``env``).
        env: the environment of each process (the ``--db`` URL travels here, not on the
            command line, so its password is not in the process list).
    """

    host: str
    port: int
    count: int
    store_args: list[str]
    env: dict[str, str]
    running: list[tuple[subprocess.Popen[bytes], float]] = field(default_factory=list)
    stop_signal: int | None = None

    def start_one(self) -> tuple[subprocess.Popen[bytes], float]:
        env = dict(self.env, **{PARENT_ENV: str(os.getpid())})
        command = [sys.executable, "-m", "cityfocus", "serve", "api-process", "--host",
                   self.host, "--port", str(self.port), *self.store_args]
        return subprocess.Popen(command, env=env), time.monotonic()

    def run(self, note: Callable[[str], None]) -> int:
        """Start the processes and keep them running until SIGTERM or SIGINT; stop them
        (each finishes its requests in flight) and return that signal's number.

        Raises:
            CityfocusError: a process stopped within seconds of starting (its own error
                is above on stderr).
        """
        previous = {number: signal.signal(number, self._on_signal)
                    for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.running = [self.start_one() for _ in range(self.count)]
            note(f"started {self.count} API processes on port {self.port}")
            while self.stop_signal is None:
                self._replace_stopped(note)
                time.sleep(0.2)
        finally:
            self.stop_all()
            for number, handler in previous.items():
                signal.signal(number, handler)
        return self.stop_signal

    def _on_signal(self, number: int, _frame: object) -> None:
        self.stop_signal = number

    def _replace_stopped(self, note: Callable[[str], None]) -> None:
        for index, (proc, started) in enumerate(self.running):
            code = proc.poll()
            if code is None or self.stop_signal is not None:
                continue
            if time.monotonic() - started < QUICK_EXIT_SECONDS:
                raise CityfocusError(f"an API process stopped {code} right after starting "
                                     "(its error is above); stopping the service")
            note(f"API process {proc.pid} stopped ({code}); starting another")
            self.running[index] = self.start_one()

    def stop_all(self) -> None:
        """SIGTERM each process (uvicorn finishes the requests in flight, up to 10 s), then
        wait; SIGKILL one still there after 15 s."""
        for proc, _ in self.running:
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.running:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stop_with_parent(server: uvicorn.Server) -> None:
    """Ask ``server`` to stop once the ``cityfocus serve`` that started this process
    (``PARENT_ENV``) is gone (killed, say), so no API process outlives it."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(1.0)
        server.should_exit = True

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()
