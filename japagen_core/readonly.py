"""Read-only demo mode: browsing, charts and reports only.

Switched on with ``JAPAGEN_READ_ONLY=1`` (or ``scripts/run --read-only``). The engine refuses every
write itself, not only the UI: the database is opened with DuckDB's ``read_only=True``, so any write
statement fails inside DuckDB and is reported as a ``ReadOnlyError``; what lives in files (job folders,
snapshot Parquet files) is checked explicitly before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import duckdb

from japagen_core.errors import JapagenError

ENV_VAR = "JAPAGEN_READ_ONLY"
_TRUE = ("1", "true", "yes")
# DuckDB's message for a write on a database attached read-only (2.0): 'Cannot execute statement of type
# "INSERT" on database "x" which is attached in read-only mode!'
_DUCKDB_MARK = "attached in read-only mode"


class ReadOnlyError(JapagenError):
    """japagen runs read-only and something tried to change data or start a job."""

    def __init__(self, what: str, *, detail: str | None = None):
        self.what = what
        message = f"japagen runs read-only ({ENV_VAR}=1): {what} is not allowed"
        super().__init__(f"{message}; {detail}" if detail else message)


def flag_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``JAPAGEN_READ_ONLY`` asks for read-only mode ("1", "true" or "yes", any case).

    Any other non-empty value is refused: a typo such as ``JAPAGEN_READ_ONLY=ture`` must not silently
    leave a public demo writable.
    """
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_VAR) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in ("", "0", "false", "no"):
        return False
    raise JapagenError(f"{ENV_VAR}={env.get(ENV_VAR)!r}: use 1, true or yes (read-only) or 0, false or no")


def check_writable(read_only: bool, what: str) -> None:
    """Raise ``ReadOnlyError`` for ``what`` (e.g. "starting a job") when ``read_only`` is set."""
    if read_only:
        raise ReadOnlyError(what)


def refused_write(exc: BaseException) -> duckdb.Error | None:
    """The write DuckDB refused because the file is read-only, found in ``exc`` or the errors it
    happened during: cleanup code (``unregister`` in a ``finally``) often replaces the refusal with a
    "transaction is aborted" error, which must still count as the refusal."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, duckdb.Error) and _DUCKDB_MARK in str(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def from_duckdb(exc: duckdb.Error) -> ReadOnlyError:
    """The ReadOnlyError for a write DuckDB refused, naming the statement type it refused."""
    text = str(exc)
    statement = text.split('statement of type "', 1)[1].split('"', 1)[0] if 'statement of type "' in text else ""
    what = f"changing the database ({statement})" if statement else "changing the database"
    return ReadOnlyError(what)
