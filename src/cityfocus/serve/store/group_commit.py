"""Group commit: small writes from many request threads committed together, one transaction
(and so one fsync) for every write waiting, instead of one each. A write is acknowledged only
after the commit that holds it returned, so nothing acknowledged can be lost; each write runs
in a savepoint of its own, so one that fails (an idempotency key already stored) fails alone.

With ``synchronous=FULL`` SQLite syncs its log at every commit (a few milliseconds here) and
lets one writer in at a time, making concurrent writers sleep and retry; through this they
queue on a Python condition instead and share the sync.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


@dataclass
class _Write(Generic[T]):
    work: Callable[[Session], T]
    done: bool = False
    result: T | None = None
    error: BaseException | None = None


@dataclass
class GroupCommit:
    """Run writes in shared transactions of ``sessions``; one thread at a time commits (the
    leader: the first writer to find no commit under way), the others wait for the commit
    that holds their write."""

    sessions: sessionmaker[Session]
    _waiting: list[_Write[Any]] = field(default_factory=list)
    _committing: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` (add and flush rows; no commit) in the next shared
        transaction; return its result once that transaction is committed, or raise what
        ``work`` raised (its savepoint rolled back) or what the commit raised."""
        mine: _Write[T] = _Write(work)
        with self._cond:
            self._waiting.append(mine)
            while not mine.done and self._committing:
                self._cond.wait()
            if mine.done:
                return _outcome(mine)
            self._committing = True  # this thread commits the group, its own write included
            group, self._waiting = self._waiting, []
        try:
            self._commit(group)
        finally:
            with self._cond:
                self._committing = False
                self._cond.notify_all()
        return _outcome(mine)

    def _commit(self, group: list[_Write[Any]]) -> None:
        try:
            with self.sessions() as session:
                if session.get_bind().dialect.name == "sqlite":
                    # pysqlite begins only before a change, so the first savepoint would
                    # begin (and its release commit) on its own: begin the group here
                    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                for item in group:
                    try:
                        with session.begin_nested():
                            item.result = item.work(session)
                    except Exception as err:  # this write alone fails
                        item.error = err
                session.commit()
        except BaseException as err:  # the commit failed: no write of the group is stored
            for item in group:
                if item.error is None:
                    item.error = err
                    item.result = None
        for item in group:
            item.done = True


def _outcome(write: _Write[T]) -> T:
    if write.error is not None:
        raise write.error
    return write.result  # type: ignore[return-value]
