"""Connections to the one DuckDB file.

DuckDB locks the file per process and fails fast when another process holds it, so nobody keeps the
database open for long: every unit of work opens, works and closes inside ``Database.transaction()``,
and the open is retried with exponential backoff and jitter while another process holds the lock.

Cheap reads: the app may keep the file open for a moment (``keep_open``)
--------------------------------------------------------------------------
Opening the file costs a new DuckDB instance, 16-18 ms (measured, whatever the file size), against
~0.02 ms for one more connection to an instance already open; a Browse or Review rerun runs several
transactions, so the opens were most of a page's time, and each new instance starts with a cold
buffer cache. The alternatives weighed:

- a process that holds the file for as long as it lives: breaks the single-writer rule outright (a job
  could never save while the app runs);
- results cached by a store version bumped on each write: every transaction runs read-write (DuckDB
  cannot tell us cheaply whether one wrote), so a version bumped per transaction changes on every read,
  and a cache still pays the open on each miss (every new query);
- **keep the instance open a short while after the last transaction, and give it up as soon as
  another process asks** (chosen). A process made with ``keep_open=s`` (the app: app/resources.py)
  keeps its instance for ``s`` seconds after its last transaction ends; a burst of reads (a rerun, a
  user paging or typing) pays one open. Another process that finds the file locked writes the request
  file ``<store>.want`` (its mtime is the request) before each retry; the holder's keeper thread checks
  that file every ``POLL_SECONDS`` while idle and closes at once on a new request, and a process that
  saw a request in the last ``REQUEST_GRACE_SECONDS`` does not keep the file at all (it opens and
  closes per transaction, as every process did before), so a writer's next transactions, e.g. an
  import's chunks, are not slowed by one round trip each. The same file serves the other direction: a
  long writer (storage.staging) pauses between its chunks only when someone asked meanwhile.

The trade-off with the single-writer rule: a writer that arrives while the app idles waits up to one
poll (~``POLL_SECONDS``) plus the close, instead of nothing; while the app is *inside* a transaction it
waits as before. A process that does not speak this protocol (the ``duckdb`` command line, a script
calling ``duckdb.connect``) cannot ask: it finds the file locked for at most ``keep_open`` seconds after
the app's last read. The CLI and jobs keep the default ``keep_open=0``: they never hold the file idle.
Within a process, ``Database.release()`` gives the idle instance up now (a raw ``duckdb.connect`` of
the same file in the same process is refused while it is attached).

In read-only mode (``read_only=True``) the file is opened with DuckDB's own read-only flag, so a write
anywhere in the engine fails inside DuckDB; ``transaction()`` reports it as a ``ReadOnlyError``.
"""

from __future__ import annotations

import atexit
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from japagen_core import readonly
from japagen_core.errors import StoreError

log = logging.getLogger(__name__)


# Between two tries to open a locked file; a long writer (storage.staging) pauses longer than this
# between its transactions when a waiting process asked (see below), so readers do not starve.
MAX_RETRY_DELAY = 0.1
ROW_GROUP_SIZE = 8_192  # rows per row group of what this process writes (see Database._open)


KEEP_OPEN_SECONDS = 1.0  # how long the app keeps the file after its last transaction (app/resources.py)
POLL_SECONDS = 0.02  # how often an idle kept instance looks for another process's request
REQUEST_GRACE_SECONDS = 1.0  # after a request, keep nothing open for this long


@dataclass
class _Instance:
    """One attached DuckDB instance of a file, shared by this process's threads."""

    base: duckdb.DuckDBPyConnection
    want: Path  # the request file other processes touch when they need the file
    want_seen: int | None  # its mtime (ns) when this instance was opened: a different one is a new request
    users: int = 0
    keep: float = 0.0  # seconds to stay open once idle
    idle_since: float | None = None

    def requested(self) -> bool:
        return want_mtime(self.want) != self.want_seen


_shared: dict[tuple[str, bool], _Instance] = {}  # (path, read-only) -> its attached instance
_shared_lock = threading.Condition()
_keeper: threading.Thread | None = None


def want_path(path: Path) -> Path:
    """The request file of the store at ``path``: its mtime changes when another process needs the file."""
    return path.with_name(path.name + ".want")


def want_mtime(want: Path) -> int | None:
    try:
        return want.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _ask_for_the_file(path: Path) -> None:
    """Tell a process that keeps the file open idle that this one needs it (see the module docstring)."""
    want = want_path(path)
    try:
        want.touch()  # (on an existing file: sets its mtime to now)
    except OSError as exc:  # a read-only folder (the demo): the holder lets go after keep_open anyway
        log.debug("cannot write the request file %s: %s", want, exc)


def _asked_lately(want: Path) -> bool:
    mtime = want_mtime(want)
    return mtime is not None and time.time() - mtime / 1e9 < REQUEST_GRACE_SECONDS


def _keep_watch() -> None:
    """The keeper thread: close idle instances whose time is up or that another process asked for."""
    with _shared_lock:
        while True:
            _shared_lock.wait(POLL_SECONDS if _close_idle_due() else None)


def _close_idle_due() -> bool:
    """Close (under ``_shared_lock``) the idle instances whose time is up or that were asked for; return
    whether idle instances remain to watch. (A function of its own, so that the keeper's frame holds no
    instance while it waits: one alive at exit is reported as a leak by DuckDB's bindings.)"""
    now, watching = time.monotonic(), False
    for key in [k for k, inst in _shared.items() if inst.users == 0]:
        inst = _shared[key]
        if now - inst.idle_since >= inst.keep or inst.requested():
            _drop(key)
        else:
            watching = True
    return watching


def _drop(key: tuple[str, bool]) -> None:
    """Close an instance (under ``_shared_lock``): detaching checkpoints and releases the file."""
    inst = _shared.pop(key)
    inst.base.close()


def release_idle(path: Path | None = None) -> None:
    """Close the idle instances this process keeps open (of ``path`` only, if given)."""
    with _shared_lock:
        for key in [k for k, inst in _shared.items() if inst.users == 0 and (path is None or k[0] == str(path))]:
            _drop(key)


atexit.register(release_idle)


def _start_keeper() -> None:
    global _keeper
    if _keeper is None or not _keeper.is_alive():
        _keeper = threading.Thread(target=_keep_watch, name="japagen-store-keeper", daemon=True)
        _keeper.start()


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class Database:
    """The japagen store at ``path``. Cheap to create; holds no connection between calls (but for the
    ``keep_open`` moment).

    lock_timeout: how long to keep retrying while another process holds the file (seconds); ``None``
        waits for as long as it takes (a job that has finished its work must not fail while saving it).
    read_only: open the file read-only; every write raises ``ReadOnlyError`` (the demo mode).
    keep_open: seconds to keep the file open after the last transaction ends, unless another process
        asks for it (see the module docstring); 0 closes it at once.
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
        keep_open: float = 0.0,
    ):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.read_only = read_only
        self.on_wait = on_wait
        self.keep_open = keep_open
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
                _ask_for_the_file(self.path)
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
        releasing the file, when the last of them closes, or kept open idle (``keep_open``)."""
        key = (str(self.path), self.read_only)
        with _shared_lock:
            inst = _shared.get(key)
            if inst is not None and inst.users == 0 and inst.requested():
                _drop(key)  # another process asked while it idled: let it have its turn first
                inst = None
            other = (key[0], not self.read_only)  # the same file in the other mode, idle: DuckDB allows one
            if other in _shared and _shared[other].users == 0:
                _drop(other)
            if inst is None:
                base = duckdb.connect(":memory:")
                options = f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (", READ_ONLY" if self.read_only else "")
                path = str(self.path).replace("'", "''")  # ATTACH takes no parameters; the path is ours
                want = want_path(self.path)
                seen = want_mtime(want)
                try:
                    base.execute(f"ATTACH '{path}' AS store ({options})")
                except BaseException:
                    base.close()
                    raise
                inst = _shared[key] = _Instance(base, want, seen)
            con = inst.base.cursor()
            inst.users += 1
            inst.idle_since = None
        con.execute("USE store")
        return con

    def _close(self, con: duckdb.DuckDBPyConnection) -> None:
        con.close()
        key = (str(self.path), self.read_only)
        with _shared_lock:
            inst = _shared.get(key)
            if inst is None:
                return
            inst.users -= 1
            if inst.users > 0:
                return
            if self.keep_open <= 0 or inst.requested() or _asked_lately(inst.want):
                _drop(key)
                return
            inst.keep, inst.idle_since = self.keep_open, time.monotonic()
            _start_keeper()
            _shared_lock.notify_all()

    def release(self) -> None:
        """Close this file's instance now if this process keeps it open idle (``keep_open``)."""
        release_idle(self.path)

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
