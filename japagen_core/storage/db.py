"""Connections to the one DuckDB file.

DuckDB locks the file per process and fails fast when another process holds it, so nobody keeps the
database open: every unit of work opens, works and closes inside ``Database.transaction()``, and the
open is retried with exponential backoff and jitter while another process holds the lock.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from japagen_core.errors import StoreError

log = logging.getLogger(__name__)


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class Database:
    """The japagen store at ``path``. Cheap to create; holds no connection between calls.

    lock_timeout: how long to keep retrying while another process holds the file (seconds).
    """

    def __init__(self, path: Path, *, lock_timeout: float = 30.0):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._migrated = False

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"the database {self.path} stayed locked by another process for {self.lock_timeout:.0f} s"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file, run the body in one transaction, commit (or roll back), close."""
        self.ensure_schema()
        with self._raw_transaction() as con:
            yield con

    @contextmanager
    def _raw_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connect()
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:  # keep the original error; the connection is closed below anyway
                    log.exception("rollback failed")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def ensure_schema(self) -> None:
        """Apply pending migrations once per ``Database`` object."""
        if self._migrated:
            return
        from japagen_core.storage.migrations import migrate

        with self._raw_transaction() as con:
            applied = migrate(con)
        if applied:
            log.info("applied migrations %s to %s", applied, self.path)
        self._migrated = True
