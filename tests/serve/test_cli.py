"""``cityfocus serve`` and ``cityfocus token`` as a user runs them (subprocesses)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cityfocus.cli import main
from cityfocus.data.synthetic import synthetic_city
from cityfocus.serve.cities.service import add_city
from cityfocus.serve.store.engine import open_store


def _one_error_line(run: Ran, needle: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), run.stderr
    assert needle in lines[0], lines[0]


def test_serve_starts_preloads_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cityfocus", "serve", "--port", "0"],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "cityfocus serve on http://" in line:
                break
        url = seen[-1].split(" on ")[1].split()[0]
        text = "".join(seen)
        assert "preloaded the embedded city 'synthetic'" in text
        token_file = tmp_path / "cityfocus-data" / "admin-token"
        assert f"first admin token written to {token_file}" in text
        secret = token_file.read_text().strip()
        assert secret not in text
        auth = {"Authorization": f"Bearer {secret}"}
        # the port listens before the app has started: on a busy machine the first answer
        # can take a while
        assert httpx.get(f"{url}/healthz", timeout=60).status_code == 200
        assert httpx.get(f"{url}/cities/synthetic", headers=auth).json()["frequency"] == "1 h"
        assert httpx.get(f"{url}/cities").status_code == 401
        assert "/cities/{city}/decisions" in httpx.get(f"{url}/openapi.json").text
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[1]
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert proc.returncode in (0, -signal.SIGTERM), rest
        assert "Application shutdown complete" in rest
        assert secret not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cityfocus(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
              ) -> Callable[..., Ran]:
    """Run ``cityfocus ARGS`` in this process through its entry point (``main``: the same
    parsing, error lines and exit codes as the command, without a new interpreter)."""

    def run(*args: str, cwd: Path) -> Ran:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["cityfocus", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main()
        out, err = capsys.readouterr()
        code = exit_.value.code
        return Ran(code if isinstance(code, int) else 0, out, err)

    return run


def test_serve_mistakes_are_one_line_exit_2(tmp_path: Path, cityfocus: Callable[..., Ran]
                                            ) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    try:
        port = str(busy.getsockname()[1])
        _one_error_line(cityfocus("serve", "--port", port, "--data-dir", "d", cwd=tmp_path),
                        "already in use")
    finally:
        busy.close()
    for args, needle in (
        (["--db", "no way"], "not a database URL"),
        (["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "unreachable"),
        (["--db", "mysql://nobody@127.0.0.1/none"], "not supported"),
        (["--data-dir", "mine"], "did not create"),
        (["--data-dir", "mine/thesis.tex"], "is a file"),
        (["--data-dir", "x", "--db", "sqlite://"], "not both"),
        (["--host", "no.such.host.invalid"], "--host"),
        (["--port", "70000"], "--port"),
    ):
        _one_error_line(cityfocus("serve", "--port", "0", *args, cwd=tmp_path), needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing made


def test_token_commands(tmp_path: Path, cityfocus: Callable[..., Ran]) -> None:
    data = str(tmp_path / "data")
    store = open_store(data)  # a store holding a small city: no synthetic preload needed
    with store.session() as session:
        add_city(session, synthetic_city(n_zones=4, days=2).data, name="tiny")
    store.close()
    made = cityfocus("token", "create", "--scope", "write", "--city", "tiny", "--name",
                     "planner", "--data-dir", data, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("cf_") and secret not in made.stderr
    assert os.stat(tmp_path / "data" / "admin-token").st_mode & 0o777 == 0o600  # first open
    listed = cityfocus("token", "list", "--data-dir", data, cwd=tmp_path)
    assert "planner" in listed.stdout and "tiny" in listed.stdout
    assert secret not in listed.stdout
    token_id = secret.split("_")[1]
    revoked = cityfocus("token", "revoke", token_id, "--data-dir", data, cwd=tmp_path)
    assert revoked.returncode == 0 and f"token {token_id} revoked" in revoked.stdout
    _one_error_line(cityfocus("token", "revoke", "999", "--data-dir", data, cwd=tmp_path),
                    "no token 999")
    _one_error_line(cityfocus("token", "create", "--scope", "root", "--data-dir", data,
                              cwd=tmp_path), "--scope")
    _one_error_line(cityfocus("token", "create", "--scope", "read", "--city", "atlantis",
                              "--data-dir", data, cwd=tmp_path), "atlantis")
