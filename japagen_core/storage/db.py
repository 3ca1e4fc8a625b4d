"""Connections to the one DuckDB file.

DuckDB locks the file per process and fails fast when another process holds it, so nobody keeps the
database open: every unit of work opens, works and closes inside ``Database.transaction()``, and the
open is retried with exponential backoff and jitter while another process holds the lock.

In read-only mode (``read_only=True``) the file is opened with DuckDB's own read-only flag, so a write
anywhere in the engine fails inside DuckDB; ``transaction()`` reports it as a ``ReadOnlyError``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from japagen_core import readonly
from japagen_core.errors import StoreError

log = logging.getLogger(__name__)


# Between two tries to open a locked file; a long writer (storage.staging) pauses longer than this
# between its transactions, so that waiting readers get their turn instead of starving.
MAX_RETRY_DELAY = 0.1
ROW_GROUP_SIZE = 8_192  # rows per row group of what this process writes (see Database._open)


_shared: dict[tuple[str, bool], list] = {}  # (path, read-only) -> [attached instance, connections open]
_shared_lock = threading.Lock()


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class Database:
    """The japagen store at ``path``. Cheap to create; holds no connection between calls.

    lock_timeout: how long to keep retrying while another process holds the file (seconds); ``None``
        waits for as long as it takes (a job that has finished its work must not fail while saving it).
    read_only: open the file read-only; every write raises ``ReadOnlyError`` (the demo mode).
    on_wait: called with the seconds waited so far, about once a second while the file stays locked
        (a job's progress says "waiting for the store (N s)", the app shows it instead of a blank page),
        and with ``None`` once the wait is over.
    """

    WAIT_REPORT_EVERY = 1.0  # seconds between on_wait calls

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout: float | None = 30.0,
        read_only: bool = False,
        on_wait: Callable[[float | None], None] | None = None,
    ):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.read_only = read_only
        self.on_wait = on_wait
        self._migrated = False

    def require_writable(self, what: str) -> None:
        """Refuse ``what`` (e.g. "loading the demo") in read-only mode, before any work is done."""
        readonly.check_writable(self.read_only, what)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.read_only and not self.path.exists():
            raise readonly.ReadOnlyError(
                "creating the database",
                detail=f"there is no database at {self.path} yet: start japagen once without read-only mode "
                "(and load the demo or import data) first",
            )
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        next_report = start + self.WAIT_REPORT_EVERY
        reported = False
        delay = 0.005
        while True:
            try:
                con = self._open()
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
                now = time.monotonic()
                if self.lock_timeout is not None and now - start >= self.lock_timeout:
                    raise StoreError(
                        f"the database {self.path} stayed locked by another process for {now - start:.1f} s "
                        f"(this command waits at most {self.lock_timeout:g} s); try again when the other work is done"
                    ) from exc
                if self.on_wait is not None and now >= next_report:
                    self.on_wait(now - start)
                    reported = True
                    next_report = now + self.WAIT_REPORT_EVERY
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, MAX_RETRY_DELAY)
                continue
            waited = time.monotonic() - start
            if waited >= 1.0:
                log.info("waited %.1f s for the lock on %s", waited, self.path)
            if reported:
                self.on_wait(None)
            return con

    def _open(self) -> duckdb.DuckDBPyConnection:
        """A connection to the file, attached with small row groups: a transaction that appends to a
        table rewrites the table's last, partly filled row group when it checkpoints (on close), so with
        DuckDB's default of 122,880 rows a chunk of an import took 1-3 s to commit; with ``ROW_GROUP_SIZE``
        rows (and chunks of whole row groups, storage.staging) a commit stays near 0.1 s (measured, long
        texts too). DuckDB refuses to attach one file twice in a process, so threads that work at the same
        time share one attached instance (as ``duckdb.connect(path)`` shares its cached one): it is closed,
        releasing the file, when the last of them closes."""
        key = (str(self.path), self.read_only)
        with _shared_lock:
            shared = _shared.get(key)
            if shared is None:
                base = duckdb.connect(":memory:")
                options = f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (", READ_ONLY" if self.read_only else "")
                path = str(self.path).replace("'", "''")  # ATTACH takes no parameters; the path is ours
                try:
                    base.execute(f"ATTACH '{path}' AS store ({options})")
                except BaseException:
                    base.close()
                    raise
                shared = _shared[key] = [base, 0]
            con = shared[0].cursor()
            shared[1] += 1
        con.execute("USE store")
        return con

    def _close(self, con: duckdb.DuckDBPyConnection) -> None:
        con.close()
        key = (str(self.path), self.read_only)
        with _shared_lock:
            shared = _shared.get(key)
            if shared is None:
                return
            shared[1] -= 1
            if shared[1] == 0:
                del _shared[key]
                shared[0].close()  # detaches: checkpoints and releases the file for other processes

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file, run the body in one transaction, commit (or roll back), close."""
        self.ensure_schema()
        try:
            with self._raw_transaction() as con:
                yield con
        except Exception as exc:  # also a refusal some caller wrapped in its own error
            refused = readonly.refused_write(exc) if self.read_only else None
            if refused is not None:
                raise readonly.from_duckdb(refused) from exc
            raise

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
            self._close(con)

    def ensure_schema(self) -> None:
        """Apply pending migrations once per ``Database`` object."""
        if self._migrated:
            return
        from japagen_core.storage.migrations import migrate, pending

        with self._raw_transaction() as con:
            if self.read_only:  # migrations write: a read-only store must already be up to date
                self._check_up_to_date(pending(con))
                self._migrated = True
                return
            applied = migrate(con)
            abandoned = con.execute("SELECT count(*) FROM import_staging").fetchall()[0][0]
        if applied:
            log.info("applied migrations %s to %s", applied, self.path)
        self._migrated = True
        if abandoned:  # rows of imports still running, or of killed ones: those are deleted now
            from japagen_core.storage.staging import clean_abandoned

            clean_abandoned(self)

    def _check_up_to_date(self, missing: list[str]) -> None:
        if missing:
            raise readonly.ReadOnlyError(
                "updating the database schema",
                detail=f"{self.path} lacks {', '.join(missing)}: start japagen once without read-only mode "
                "to update it",
            )
