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


def m002_example_grams(con: duckdb.DuckDBPyConnection) -> None:
    """A character 1-, 2- and 3-gram index of example texts, for Browse's substring search.

    One row per distinct (gram, example) over lower(text || newline || text_b), with the example's
    label key (its label, or ``grade:<n>`` for a score), sorted by (gram, label key, row) within each
    insert: DuckDB's zone maps then find a gram's rows for some labels without touching the texts.
    Built after an import, in chunks (repository.build_gram_index); until a dataset's index is
    complete (m003's dataset_index), Browse scans its texts instead.
    """
    con.execute(
        "CREATE TABLE example_grams (dataset_id VARCHAR NOT NULL, gram VARCHAR NOT NULL, "
        "label_key VARCHAR, row_idx INTEGER NOT NULL)"
    )


# How a label filter sees an example: its label, or the nearest grade of its score.
LABEL_KEY_SQL = "coalesce(label, 'grade:' || CAST(round(score) AS INTEGER))"


def m003_generation(con: duckdb.DuckDBPyConnection) -> None:
    """LLM runs: unlabeled datasets (for annotation), duplicate marks, and failed answers kept whole."""
    # DuckDB cannot drop a CHECK constraint, so the datasets table is rebuilt with the new kind.
    con.execute("ALTER TABLE datasets RENAME TO datasets_m002")
    con.execute(
        """
        CREATE TABLE datasets (
            id VARCHAR PRIMARY KEY, task VARCHAR NOT NULL, split VARCHAR NOT NULL,
            kind VARCHAR NOT NULL CHECK (kind IN ('gold', 'synthetic', 'unlabeled')),
            name VARCHAR NOT NULL, source VARCHAR NOT NULL, source_format VARCHAR NOT NULL,
            content_sha256 VARCHAR NOT NULL, is_demo BOOLEAN NOT NULL DEFAULT false, rows INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp, meta JSON
        )
        """
    )
    con.execute("INSERT INTO datasets SELECT * FROM datasets_m002")
    con.execute("DROP TABLE datasets_m002")
    con.execute("ALTER TABLE examples ADD COLUMN duplicate_of INTEGER")  # row_idx of the first exact copy
    # Whether a dataset's gram index is complete (Browse uses it only then) or skipped (long texts).
    con.execute(
        "CREATE TABLE dataset_index (dataset_id VARCHAR PRIMARY KEY, state VARCHAR NOT NULL, "
        "indexed_rows INTEGER NOT NULL DEFAULT 0)"
    )
    con.execute(
        """
        CREATE TABLE generation_failures (
            run_id     VARCHAR NOT NULL,   -- the synthetic dataset's id
            unit_id    VARCHAR NOT NULL,
            seq        INTEGER NOT NULL,
            label      VARCHAR,
            reason     VARCHAR NOT NULL,   -- empty, not_japanese, unparsable_label, timeout, http_500, surplus...
            raw        VARCHAR,            -- the answer as received, or the error message
            request_id VARCHAR,
            created_at TIMESTAMP,
            provenance JSON,
            PRIMARY KEY (run_id, unit_id, seq)
        )
        """
    )


def m004_analysis(con: duckdb.DuckDBPyConnection) -> None:
    """Analysis results (Self-BLEU, overlap, label correctness) with their signatures, and the
    classifier's prediction for each example (for the review work that follows)."""
    con.execute(
        """
        CREATE TABLE analysis_results (
            id           VARCHAR PRIMARY KEY,
            job_id       VARCHAR,
            kind         VARCHAR NOT NULL,      -- self_bleu, overlap, correctness
            dataset_id   VARCHAR NOT NULL,
            reference_id VARCHAR,               -- the gold split compared with or trained on
            signature    VARCHAR NOT NULL,
            created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
            result       JSON NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE example_predictions (
            analysis_id   VARCHAR NOT NULL,
            dataset_id    VARCHAR NOT NULL,
            row_idx       INTEGER NOT NULL,
            predicted     VARCHAR,              -- a label name (class tasks)
            score         DOUBLE,               -- a predicted score (score tasks)
            probabilities JSON,                 -- per label, in the task's label order
            PRIMARY KEY (analysis_id, dataset_id, row_idx)
        )
        """
    )


def m005_review(con: duckdb.DuckDBPyConnection) -> None:
    """Review: append-only events and the state derived from them, cleanlab's label-issue ranking of
    each prediction, immutable numbered snapshots, and versions of the KADG word lists."""
    con.execute("CREATE SEQUENCE review_event_ids START 1")
    con.execute(
        """
        CREATE TABLE review_events (
            id         BIGINT PRIMARY KEY DEFAULT nextval('review_event_ids'),  -- the order of events
            batch_id   VARCHAR NOT NULL,      -- events of one action (a bulk action) share it; undo works on it
            dataset_id VARCHAR NOT NULL,
            row_idx    INTEGER NOT NULL,
            action     VARCHAR NOT NULL CHECK (action IN ('flag', 'unflag', 'relabel', 'note', 'undo')),
            old_value  VARCHAR,               -- label / score / flag / note before the event
            new_value  VARCHAR,               -- ... and after it
            reason     VARCHAR,
            reviewer   VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            undoes     BIGINT                 -- for 'undo': the event it cancels
        )
        """
    )
    # The fold of each example's events (japagen_core.review.events.fold), kept in the same
    # transaction as the events themselves so the queue can filter without replaying the log.
    con.execute(
        """
        CREATE TABLE review_state (
            dataset_id VARCHAR NOT NULL,
            row_idx    INTEGER NOT NULL,
            label      VARCHAR,               -- the relabel, when there is one
            score      DOUBLE,                -- the relabelled score of a score task
            flag       VARCHAR,               -- mislabeled / bad_text / duplicate / off_task
            note       VARCHAR,
            events     INTEGER NOT NULL,
            last_event BIGINT NOT NULL,
            PRIMARY KEY (dataset_id, row_idx)
        )
        """
    )
    con.execute("ALTER TABLE example_predictions ADD COLUMN label_quality DOUBLE")  # cleanlab, 0 = surely wrong
    con.execute("ALTER TABLE example_predictions ADD COLUMN is_issue BOOLEAN")  # cleanlab find_label_issues
    con.execute("ALTER TABLE example_predictions ADD COLUMN confidence DOUBLE")  # of the predicted label
    con.execute(
        """
        CREATE TABLE snapshots (
            id              INTEGER PRIMARY KEY,  -- numbered from 1, never reused
            dataset_id      VARCHAR NOT NULL,
            task            VARCHAR NOT NULL,
            exclude_flagged BOOLEAN NOT NULL,
            rows            INTEGER NOT NULL,
            flagged_rows    INTEGER NOT NULL,
            relabeled_rows  INTEGER NOT NULL,
            events_through  BIGINT,               -- the last review event it includes
            path            VARCHAR NOT NULL,     -- Parquet file under JAPAGEN_HOME, written once, read-only
            sha256          VARCHAR NOT NULL,
            created_by      VARCHAR NOT NULL,
            created_at      TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE word_list_versions (
            list_name  VARCHAR NOT NULL,      -- the KADG list (prompts/kadg/<name>.txt is version 0)
            version    INTEGER NOT NULL,
            words      VARCHAR[] NOT NULL,
            sha        VARCHAR NOT NULL,      -- what examples record as words_version
            author     VARCHAR NOT NULL,
            note       VARCHAR,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (list_name, version)
        )
        """
    )


def m006_training(con: duckdb.DuckDBPyConnection) -> None:
    """Training results: one row per fine-tuned model (or LLM prompting run) and seed, the metrics of
    each evaluation on a gold split, and every per-example prediction (for the review of gold data)."""
    con.execute(
        """
        CREATE TABLE models (
            id               VARCHAR PRIMARY KEY,
            run_id           VARCHAR NOT NULL,     -- the submission: its seeds (and scaling sizes) share it
            job_id           VARCHAR,
            kind             VARCHAR NOT NULL CHECK (kind IN ('finetune', 'prompting')),
            task             VARCHAR NOT NULL,
            method           VARCHAR NOT NULL,     -- the Table 1 block: fine-tuning, prompting, japagen, mix
            setting          VARCHAR NOT NULL,     -- fully-supervised, few-shot, zero-shot, kadg, ...
            data_spec        VARCHAR NOT NULL,     -- what was asked for: snapshot:3, gold-fewshot:5, mix:...
            train_snapshots  INTEGER[],            -- the snapshots its data came from (prompting: few-shot source)
            train_examples   INTEGER,
            per_class        INTEGER,              -- synthetic examples per class (a scaling point); NULL: all
            eval_dataset_id  VARCHAR NOT NULL,
            eval_snapshot_id INTEGER,
            base_model       VARCHAR NOT NULL,     -- pretrained model name or path, or the LLM
            seed             INTEGER NOT NULL,
            config           JSON NOT NULL,
            path             VARCHAR,              -- model folder, relative to JAPAGEN_HOME (NULL: prompting)
            metric           VARCHAR NOT NULL,     -- the task's metric
            score            DOUBLE,               -- its value on the evaluation split, in [0, 1] (MCC: [-1, 1])
            metrics          JSON NOT NULL,
            created_at       TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE evaluations (
            model_id    VARCHAR NOT NULL,
            dataset_id  VARCHAR NOT NULL,
            snapshot_id INTEGER,                   -- the snapshot of the split that was scored
            metrics     JSON NOT NULL,
            created_at  TIMESTAMP NOT NULL,
            PRIMARY KEY (model_id, dataset_id)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE evaluation_predictions (
            model_id      VARCHAR NOT NULL,
            dataset_id    VARCHAR NOT NULL,
            row_idx       INTEGER NOT NULL,
            predicted     VARCHAR,                 -- a label name; NULL when an LLM answer named none
            score         DOUBLE,                  -- a predicted score (score tasks)
            probabilities JSON,                    -- per label, in the task's label order
            raw           VARCHAR,                 -- prompting: the LLM's answer as received
            PRIMARY KEY (model_id, dataset_id, row_idx)
        )
        """
    )


def m007_review_index(con: duckdb.DuckDBPyConnection) -> None:
    """One row per example for the review queue, so filtering and ranking a million examples reads a
    single table instead of joining examples, review state and predictions (measured: the joins alone
    took ~80 ms at 1M rows). Built per dataset (review.queue.refresh_index) when a new analysis lands or
    on first use, in suspicion order, with a copy of the texts: the top of the queue then sits in a few
    consecutive rows, so a page is read from one or two storage vectors instead of fifty scattered ones
    (fetching 50 scattered texts from 1M took ~30 ms). Review events update their rows in the same
    transaction."""
    con.execute(
        """
        CREATE TABLE review_index (
            dataset_id      VARCHAR NOT NULL,
            row_idx         INTEGER NOT NULL,
            text            VARCHAR NOT NULL,
            text_b          VARCHAR,
            assigned        VARCHAR,          -- label name, or the nearest grade of a score
            assigned_score  DOUBLE,
            current         VARCHAR,          -- the label after review relabels
            relabel_score   DOUBLE,
            kadg_word       VARCHAR,
            setting         VARCHAR,
            predicted       VARCHAR,          -- the newest correctness analysis' label (or grade)
            predicted_score DOUBLE,           -- its score (score tasks)
            confidence      DOUBLE,           -- its probability of the predicted label
            suspicion       DOUBLE,           -- 1 - cleanlab label quality
            is_issue        BOOLEAN,
            flag            VARCHAR,
            note            VARCHAR,
            events          INTEGER NOT NULL,
            relabeled       BOOLEAN NOT NULL
        )
        """
    )
    con.execute(
        "CREATE TABLE review_index_state (dataset_id VARCHAR PRIMARY KEY, analysis_id VARCHAR, "
        "rows INTEGER NOT NULL, built_at TIMESTAMP NOT NULL)"
    )


def m008_showcase(con: duckdb.DuckDBPyConnection) -> None:
    """Examples a reviewer pinned to the showcase: the example cards of the Overview page and the report
    show them first (japagen_core.showcase)."""
    con.execute(
        """
        CREATE TABLE showcase (
            dataset_id VARCHAR NOT NULL,
            row_idx    INTEGER NOT NULL,
            pinned_by  VARCHAR NOT NULL,
            note       VARCHAR,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (dataset_id, row_idx)
        )
        """
    )


def m009_teachers(con: duckdb.DuckDBPyConnection) -> None:
    """Teachers (Kaddour & Liu): LLMs fine-tuned on gold examples, through the OpenAI API or with LoRA on
    a local model. A row is written when the tuning job is submitted and updated by the job; once it
    succeeded, ``model`` is what generation uses (the fine-tuned model id, or the adapter folder)."""
    con.execute(
        """
        CREATE TABLE teachers (
            id                VARCHAR PRIMARY KEY,
            task              VARCHAR NOT NULL,
            backend           VARCHAR NOT NULL CHECK (backend IN ('openai', 'local')),
            purpose           VARCHAR NOT NULL,     -- generate (gold texts as answers) or annotate (labels)
            base_model        VARCHAR NOT NULL,     -- the model tuned: an OpenAI model, or a local folder / hub name
            base_url          VARCHAR,              -- an OpenAI-compatible server (NULL: OpenAI itself)
            model             VARCHAR,              -- the result: fine-tuned model id, or adapter folder (rel. to home)
            status            VARCHAR NOT NULL,     -- queued, running, succeeded, failed, cancelled
            job_id            VARCHAR,
            remote_job_id     VARCHAR,              -- the OpenAI fine-tuning job (ftjob-...)
            training_file_sha VARCHAR NOT NULL,     -- sha256 of the exact training file
            data_spec         VARCHAR NOT NULL,     -- gold-fewshot:5, snapshot:3, ...
            snapshot_id       INTEGER,              -- the snapshot the examples came from
            examples          INTEGER NOT NULL,     -- conversations in the training file
            message           VARCHAR,              -- why it failed, or what it is doing
            created_at        TIMESTAMP NOT NULL,
            updated_at        TIMESTAMP NOT NULL,
            meta              JSON                  -- hyperparameters, token estimate, adapter sha, trained tokens
        )
        """
    )


def m010_prompt_presets(con: duckdb.DuckDBPyConnection) -> None:
    """Prompt presets imported into the store: the 'paper' preset is the authors' configs, converted to
    a japagen prompt spec per task. An import replaces a task's row; ``sha`` is what each example records."""
    con.execute(
        """
        CREATE TABLE prompt_presets (
            preset      VARCHAR NOT NULL,
            task        VARCHAR NOT NULL,
            spec        VARCHAR NOT NULL,          -- the spec (YAML) generation reads
            sha         VARCHAR NOT NULL,          -- its version, as load_spec computes it for a file
            source      VARCHAR NOT NULL,          -- the files it was made from
            imported_at TIMESTAMP NOT NULL,
            PRIMARY KEY (preset, task)
        )
        """
    )


def m011_memory_search_and_staged_imports(con: duckdb.DuckDBPyConnection) -> None:
    """Browse and the review queue search texts from process memory now (storage.textindex): the gram
    index (example_grams, dataset_index: 90% of import time, 83% of a store) goes. Imports write their
    rows in short transactions into a staged dataset (storage.staging): examples without a datasets row,
    recorded here with the writing process, so the rows of a killed import can be found and deleted."""
    con.execute("DROP TABLE IF EXISTS example_grams")
    con.execute("DROP TABLE IF EXISTS dataset_index")
    con.execute(
        "CREATE TABLE import_staging (dataset_id VARCHAR PRIMARY KEY, pid INTEGER, started_at TIMESTAMP NOT NULL)"
    )


MIGRATIONS: tuple[Migration, ...] = (
    m001_datasets_and_examples,
    m002_example_grams,
    m003_generation,
    m004_analysis,
    m005_review,
    m006_training,
    m007_review_index,
    m008_showcase,
    m009_teachers,
    m010_prompt_presets,
    m011_memory_search_and_staged_imports,
)


def pending(con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """The names of the migrations not applied yet, without writing anything (works read-only)."""
    has_table = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_migrations' AND NOT temporary "
        "AND database_name = current_database()"
    ).fetchall()[0][0]
    done = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()} if has_table else set()
    return [m.__name__ for m in migrations if m.__name__ not in done]


def migrate(con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the migrations not yet recorded in ``_migrations``, in order; return their names."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
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
