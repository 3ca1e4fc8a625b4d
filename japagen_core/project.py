"""A project: the settings, the task registry and the store, opened together by the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from japagen_core import readonly
from japagen_core.jobs.store import JobStore
from japagen_core.settings import Settings
from japagen_core.storage import Database, textindex
from japagen_core.storage import repository as repo
from japagen_core.tasks import Registry, load_registry


@dataclass
class Project:
    settings: Settings
    registry: Registry
    db: Database
    # Datasets' in-memory search indexes; the app shares one cache across sessions (app/resources.py).
    text_indexes: textindex.TextIndexCache = field(default_factory=textindex.TextIndexCache)
    _label_counts: dict[tuple, dict[str, int]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Project:
        """Open the project of ``settings`` (default: from the environment).

        Read-only when the settings say so, and also whenever this process runs with
        ``JAPAGEN_READ_ONLY=1``: the switch covers the whole process, so code that builds its settings
        from other values (a cached app resource, a job's own store) cannot make a demo writable.
        """
        settings = settings or Settings.from_env()
        read_only = settings.read_only or readonly.flag_from_env()
        db = Database(settings.db_path, read_only=read_only)
        return cls(settings, load_registry(settings.prompts_dir), db)

    @property
    def read_only(self) -> bool:
        """The read-only demo mode: pages hide every control that would change data or start a job."""
        return self.db.read_only

    def require_writable(self, what: str) -> None:
        """Raise ``ReadOnlyError`` for ``what`` (e.g. "creating a snapshot") in read-only mode."""
        self.db.require_writable(what)

    @property
    def jobs(self) -> JobStore:
        """The project's job store (refuses to create, start or cancel jobs in read-only mode)."""
        return JobStore(self.settings.jobs_dir, read_only=self.read_only)

    def has_data(self) -> bool:
        """Whether any dataset exists (the app opens on the Overview then, else on Home)."""
        with self.db.transaction() as con:
            return bool(con.execute("SELECT count(*) FROM datasets").fetchall()[0][0])

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset with its label counts, as plain dicts (the ``datasets --json`` shape).

        Counts are kept per dataset version (``_label_counts``): a dataset's examples never change once
        visible, so only new datasets are counted (a full count is a scan of every example: tens of ms
        at a million rows, on every rerun of every page that lists datasets)."""
        with self.db.transaction() as con:
            infos = repo.list_datasets(con)
            new = [info for info in infos if _version(info) not in self._label_counts]
            if new:
                for dataset_id, found in repo.all_label_counts(con, self.registry, new).items():
                    self._label_counts[_version(next(i for i in new if i.id == dataset_id))] = found
        counts = {info.id: self._label_counts.get(_version(info), {}) for info in infos}
        return [
            {
                "id": info.id,
                "task": info.task,
                "split": info.split,
                "kind": info.kind,
                "rows": info.rows,
                "counts": counts.get(info.id, {}),
                "name": info.name,
                "is_demo": info.is_demo,
                "source": info.source,
                "format": info.source_format,
                "created_at": info.created_at.isoformat(timespec="seconds") if info.created_at else None,
            }
            for info in infos
        ]

    def browse(
        self,
        dataset_id: str,
        *,
        labels: list[str] | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> repo.BrowsePage:
        """One page of a dataset's examples (see ``repository.browse``); a text query is answered from
        the dataset's in-memory index, built on first use (in short transactions) and kept in
        ``text_indexes`` until the dataset changes."""
        with self.db.transaction() as con:
            info = repo.get_dataset(con, dataset_id)
            task = self.registry[info.task]
            index = self.text_indexes.peek(textindex.cache_key(self.db, info)) if query else None
            if not query or index is not None:  # the usual case: one short transaction
                return repo.browse(
                    con, task, dataset_id, labels=labels, query=query, offset=offset, limit=limit, index=index
                )
        index = self.text_index(dataset_id)
        with self.db.transaction() as con:
            return repo.browse(
                con, task, dataset_id, labels=labels, query=query, offset=offset, limit=limit, index=index
            )

    def text_index(self, dataset_id: str) -> textindex.TextIndex:
        """The dataset's in-memory search index (cached per dataset version)."""
        with self.db.transaction() as con:
            info = repo.get_dataset(con, dataset_id)
        return textindex.index_for(self.text_indexes, self.db, info, self.registry[info.task].target)


def _version(info: repo.DatasetInfo) -> tuple:
    """What a dataset's cached facts are valid for (examples are never changed in place; a re-created
    dataset has a new creation time)."""
    return (info.id, info.rows, info.created_at)
