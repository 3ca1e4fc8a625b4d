"""Files japagen writes: where a user's output may go, and how any file is written so a crash never
leaves half of it.

Every command that writes a file a user names (``export --out``, ``report --out``, ``teacher-tune
--out``) goes through ``check_output_path``: the path, symlinks and ``..`` resolved, must lie outside
the data directory (``JAPAGEN_HOME``: the DuckDB file, its WAL, job folders, snapshots, models), and an
existing file is only replaced with ``force``. The file itself is written by ``write_bytes_atomic``:
a temporary file beside the target, flushed and fsynced, then ``os.replace``d over it and the folder
fsynced, so readers see the old file or the new one, never a mix (and a hard link to some other file is
replaced, not written through).

Job parts and snapshots use ``write_file_atomic`` the same way, and ``read_or_set_aside`` moves a part
that cannot be read (a 0-byte file left by a crash, a truncated footer) out of the way so it is redone.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from japagen_core.errors import JapagenError
from japagen_core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class OutputPathError(JapagenError):
    """An output path japagen refuses to write: inside the data directory, or an existing file."""


def check_output_path(settings: Settings, path: Path | str, *, force: bool = False) -> Path:
    """The resolved path to write ``path`` to, or ``OutputPathError`` saying why not (one line).

    Refused: anything inside ``settings.home`` (after resolving symlinks and ``..``, also a symlink
    whose target is there), a folder, and an existing file unless ``force``.
    """
    given = Path(path).expanduser()
    target = given.resolve()
    _refuse_inside_home(settings, given, target)
    if target.is_dir():
        raise OutputPathError(f"refused to write {given}: it is a folder; name a file in it")
    if target.exists() and not force:
        raise OutputPathError(f"refused to write {given}: the file already exists; pass --force to overwrite it")
    return target


def _refuse_inside_home(settings: Settings, given: Path, target: Path) -> None:
    home = settings.home.resolve()
    if target == home or home in target.parents:
        shown = f"{given} (resolved: {target})" if given.absolute() != target else str(given)
        raise OutputPathError(
            f"refused to write {shown}: it is inside the japagen data directory {home} (JAPAGEN_HOME), "
            "where it could overwrite the store; choose a path outside it"
        )


def check_output_folder(settings: Settings, path: Path | str, *, force: bool = False) -> Path:
    """The resolved folder to write an export's files into, or ``OutputPathError``: inside
    ``settings.home``, a file, or a folder that is not empty unless ``force``."""
    given = Path(path).expanduser()
    target = given.resolve()
    _refuse_inside_home(settings, given, target)
    if target.exists() and not target.is_dir():
        raise OutputPathError(f"refused to write {given}: it is a file; name a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise OutputPathError(f"refused to write into {given}: the folder is not empty; pass --force to overwrite")
    return target


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the rename is still atomic
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(target: Path) -> Path:
    """A fresh temporary name beside ``target`` (hidden, with this process's pid, never a target name)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def write_file_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    """Have ``write(tmp)`` write the file under a temporary name, then fsync it, rename it over
    ``target`` and fsync the folder. On any error the temporary file is removed and ``target`` is as it was."""
    target = Path(target)
    tmp = temp_path(target)
    try:
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def write_bytes_atomic(target: Path, data: bytes) -> Path:
    """``write_file_atomic`` for bytes in memory (new files get the usual umask-based mode)."""

    def write(tmp: Path) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    return write_file_atomic(target, write)


def write_output(settings: Settings, path: Path | str, data: bytes, *, force: bool = False) -> Path:
    """Write a user's output file: ``check_output_path``, create its folder, write it atomically."""
    target = check_output_path(settings, path, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(target, data)


def read_or_set_aside(paths: Iterable[Path], read: Callable[[Path], T]) -> dict[Path, T]:
    """``read(path)`` of each file of ``paths``; a file that does not read (``read`` raises: a 0-byte
    or truncated Parquet file left by a crash) is renamed to ``<name>.corrupt`` and logged instead, so
    the work it held is done again. Only for files this process owns (a job's parts under its lock)."""
    found: dict[Path, T] = {}
    for path in paths:
        try:
            found[path] = read(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError and others for a broken file
            aside = path.with_name(f"{path.name}.corrupt")
            os.replace(path, aside)
            log.warning("set aside %s as %s (%s: %s); its work is done again", path.name, aside.name,
                        type(exc).__name__, exc)  # fmt: skip
    return found


def remove_stale_temps(folder: Path, pattern: str = ".*.tmp") -> int:
    """Remove temporary files in ``folder`` left by a process that crashed mid-write. Only for a
    folder this process owns exclusively (a job's parts under the job's lock)."""
    removed = 0
    for tmp in folder.glob(pattern):
        tmp.unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("removed %d temporary file(s) left in %s by an earlier attempt", removed, folder)
    return removed
