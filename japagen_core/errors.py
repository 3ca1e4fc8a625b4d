"""Specific exceptions. Every message names the bad value, so the CLI can print it as one line."""


class JapagenError(Exception):
    """Base class: an error a user can act on (the CLI prints it as one line and exits 1)."""


class TaskError(JapagenError):
    """A task definition is invalid, or a task name is unknown."""


class UnknownTaskError(TaskError, KeyError):
    """No task has the given name (a KeyError too, so ``Registry.get`` works)."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class UnknownLabelError(JapagenError):
    """A label value does not belong to the task."""


class StoreError(JapagenError):
    """The database could not be used (locked for too long, missing dataset, ...)."""


class DatasetNotFoundError(StoreError):
    """No dataset has the given id."""


class GoldImportError(JapagenError):
    """A gold file was refused. Carries the file, the place in it and the problem."""

    def __init__(self, source: str, problem: str, *, where: str | None = None):
        self.source = source
        self.where = where
        self.problem = problem
        place = f"{source}, {where}" if where else source
        super().__init__(f"{place}: {problem}")
