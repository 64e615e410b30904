"""The store without HTTP: migrations, pragmas, the data folder, atomic batches, tokens."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import func, select, text

from cityfocus.data.synthetic import synthetic_city
from cityfocus.errors import CityfocusError
from cityfocus.serve import datadir
from cityfocus.serve.cities.service import city_data
from cityfocus.serve.errors import Forbidden, Unauthorized
from cityfocus.serve.observations import service as observations
from cityfocus.serve.observations.schemas import ObservationBatch, ObservationRow
from cityfocus.serve.store.engine import resolve_url
from cityfocus.serve.store.migrate import current_revision, head_revision
from cityfocus.serve.store.tables import Base, City, Observation
from cityfocus.serve.tokens.service import (
    VerifiedTokens,
    authorize,
    create_token,
    revoke_token,
    verify,
    verify_recent,
)


def test_migrations_reach_head_and_match_the_tables(store) -> None:
    with store.engine.connect() as conn:
        assert current_revision(conn) == head_revision() == "0002"
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert store.ready() == (True, "ok")


def test_every_sqlite_connection_is_wal_and_synchronous_full(store) -> None:
    for _ in range(2):
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        store.engine.dispose()  # the next one is a new connection


def test_the_stored_city_reads_back_as_its_data(store) -> None:
    data = synthetic_city(n_zones=4, days=2).data
    with store.session() as session:
        city = session.scalar(select(City).where(City.name == "tiny"))
        back = city_data(session, city)
    assert back.shape == data.shape and (back.mask == data.mask).all()
    assert (back.values == data.values).all() and list(back.zones["id"]) == list(data.zones["id"])


def test_a_batch_failing_in_the_write_leaves_nothing(store, monkeypatch) -> None:
    def fail(*_args: object) -> int:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(observations, "_bump_version", fail)
    rows = [ObservationRow(zone=z, feature="incidents", time=dt.datetime(2025, 1, 1), value=1)
            for z in ("z00", "z01", "z02")]
    with store.session() as session:
        before = session.scalar(select(func.count()).select_from(Observation))
        with pytest.raises(RuntimeError):
            observations.ingest(session, "tiny", rows)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == before


def test_a_batch_holds_at_most_100k_rows() -> None:
    row = {"zone": "z", "feature": "f", "time": "2024-01-01T00:00:00", "value": 1}
    with pytest.raises(ValidationError, match="at most 100000"):
        ObservationBatch.model_validate({"rows": [row] * 100_001})
    assert len(ObservationBatch.model_validate({"rows": [row] * 3}).rows) == 3


def test_the_data_folder_is_the_services_own(tmp_path: Path) -> None:
    made = datadir.prepare_data_dir(tmp_path / "new" / "data")
    assert (made / datadir.MARKER).is_file()
    (tmp_path / "empty").mkdir()
    assert datadir.prepare_data_dir(tmp_path / "empty") == tmp_path / "empty"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(CityfocusError, match="did not create.*notes.txt"):
        datadir.prepare_data_dir(theirs)
    (made / "extra.csv").write_text("x")
    with pytest.raises(CityfocusError, match="extra.csv"):
        datadir.prepare_data_dir(made)
    with pytest.raises(CityfocusError, match="is a file"):
        datadir.prepare_data_dir(theirs / "notes.txt")
    with pytest.raises(CityfocusError, match="not both"):
        resolve_url(tmp_path, "sqlite://")
    with pytest.raises(CityfocusError, match="not a database URL"):
        resolve_url(None, "nonsense")
    with pytest.raises(CityfocusError, match="not supported"):
        resolve_url(None, "mysql://x@localhost/db")


def test_admin_token_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    datadir.write_secret(path, "abc")
    assert path.read_text() == "abc\n" and os.stat(path).st_mode & 0o777 == 0o600


def test_tokens_verify_in_constant_time_and_scopes_nest(store) -> None:
    with store.session() as session:
        info, secret = create_token(session, "write", ["tiny"], "w")
        token = verify(session, secret)
        authorize(token, "read", "tiny")
        authorize(token, "write", "tiny")
        with pytest.raises(Forbidden):
            authorize(token, "admin")
        with pytest.raises(Forbidden):
            authorize(token, "read", "elsewhere")
        for bad in (None, "", "cf_1", secret[:-1] + ("A" if secret[-1] != "A" else "B"),
                    f"cf_999_{'a' * 43}"):
            with pytest.raises(Unauthorized):
                verify(session, bad)
        revoke_token(session, info.id)
        with pytest.raises(Unauthorized):
            verify(session, secret)
        with pytest.raises(CityfocusError, match="scope"):
            create_token(session, "root")
        with pytest.raises(CityfocusError, match="no such city"):
            create_token(session, "read", ["atlantis"])


def test_a_verified_token_is_trusted_for_its_seconds_and_forgotten_when_revoked_here(
        store) -> None:
    """Revoked elsewhere (another process: the row changes, this process is not told), a
    token verified a moment ago is still trusted until ``seconds`` pass, then refused;
    revoked through this process it is refused at once."""
    now = [0.0]
    kept = VerifiedTokens(seconds=2.0, clock=lambda: now[0])
    with store.session() as session:
        info, secret = create_token(session, "read", name="r")
        assert verify_recent(session, secret, kept).id == info.id
    with store.session() as session:  # "another process" revokes: only the row changes
        session.execute(text("UPDATE tokens SET revoked_at = CURRENT_TIMESTAMP WHERE id = :i"),
                        {"i": info.id})
        session.commit()
    with store.session() as session:
        now[0] = 1.9
        assert verify_recent(session, secret, kept).id == info.id
        now[0] = 2.1
        with pytest.raises(Unauthorized):
            verify_recent(session, secret, kept)
        other, secret = create_token(session, "read", name="r2")
        assert verify_recent(session, secret).id == other.id  # the process's own cache
        revoke_token(session, other.id)
        with pytest.raises(Unauthorized):
            verify_recent(session, secret)
        with pytest.raises(Unauthorized):  # a wrong secret is never trusted from the cache
            verify_recent(session, secret[:-1] + ("A" if secret[-1] != "A" else "B"), kept)
