"""Ordered, named schema migrations. Append new ones at the end; never edit an applied one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def m001_datasets_and_examples(con: duckdb.DuckDBPyConnection) -> None:
    """Datasets (gold splits, synthetic runs) and their examples."""
    con.execute(
        """
        CREATE TABLE datasets (
            id             VARCHAR PRIMARY KEY,
            task           VARCHAR NOT NULL,
            split          VARCHAR NOT NULL,
            kind           VARCHAR NOT NULL CHECK (kind IN ('gold', 'synthetic')),
            name           VARCHAR NOT NULL,
            source         VARCHAR NOT NULL,          -- file the data came from, or 'demo'
            source_format  VARCHAR NOT NULL,
            content_sha256 VARCHAR NOT NULL,          -- of the file bytes and import options
            is_demo        BOOLEAN NOT NULL DEFAULT false,
            rows           INTEGER NOT NULL,
            created_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
            meta           JSON                       -- format options, field mapping, split seed...
        )
        """
    )
    con.execute(
        """
        CREATE TABLE examples (
            dataset_id VARCHAR NOT NULL,
            row_idx    INTEGER NOT NULL,             -- order in the source, from 0
            text       VARCHAR NOT NULL,
            text_b     VARCHAR,                      -- second text of a pair task
            label      VARCHAR,                      -- label name; NULL for gold scores of score tasks
            score      DOUBLE,                       -- JSTS-like tasks: the float gold score
            split      VARCHAR NOT NULL,
            source     VARCHAR NOT NULL,             -- 'gold', 'demo', later 'llm'
            source_id  VARCHAR,                      -- the id in the source file (sentence_pair_id, uid)
            provenance JSON,                         -- file, line, other source fields; later LLM settings
            PRIMARY KEY (dataset_id, row_idx)
        )
        """
    )


MIGRATIONS: tuple[Migration, ...] = (m001_datasets_and_examples,)


def migrate(con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the migrations not yet recorded in ``_migrations``, in order; return their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for migration in migrations:
        name = migration.__name__
        if name in done:
            continue
        migration(con)
        con.execute("INSERT INTO _migrations VALUES (?, current_timestamp)", [name])
        applied.append(name)
    return applied
