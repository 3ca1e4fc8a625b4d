"""DuckDB storage: one file, short transactions, ordered migrations, parameterized queries."""

from japagen_core.storage.db import Database

__all__ = ["Database"]
