"""KADG word lists with versions: edit, validate, diff, revert, and per-word statistics of past runs.

The shipped file ``prompts/kadg/<name>.txt`` is version 0. Each save appends a version row to
``word_list_versions`` (never updated, never deleted): the current list is the newest row, else the
file. A revert appends a copy of an older version, so the history stays append-only. A version's sha
is a hash of its words alone (one per line, each ending in a newline: for a plain file the same as the
hash of its bytes), so the same words always have the same sha, whichever version holds them.

Generation reads :func:`current_words` when a run starts (or resumes), and every example records the
list, the version number and the sha it used (``words_list``, ``words_list_version``,
``words_version``) next to its ``kadg_word``.
"""

from __future__ import annotations

import difflib
import hashlib
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from japagen_core.errors import JapagenError
from japagen_core.generation.prompts import PromptError, load_spec, load_words
from japagen_core.metrics.self_bleu import self_bleu
from japagen_core.metrics.tokenizers import Tokenizer
from japagen_core.project import Project

MAX_WORD_CHARS = 100  # a KADG word is a word or a short phrase that goes into a prompt
MAX_WORDS = 10_000
FILE_AUTHOR = "file"  # the author of version 0
STATS_PER_WORD = 200  # texts per word that Self-BLEU scores (seeded sample), so the page stays fast
_PROBLEMS_SHOWN = 5  # in an error's message; the exception keeps them all


class WordListError(PromptError):
    """A word list was refused; ``problems`` names each bad word and its line (1-based)."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = "; ".join(self.problems[:_PROBLEMS_SHOWN])
        more = len(self.problems) - _PROBLEMS_SHOWN
        super().__init__(shown + (f"; and {more} more problem(s)" if more > 0 else ""))


class WordListConflictError(JapagenError):
    """The list changed since the editor read it (someone else saved): nothing was written."""


@dataclass(frozen=True)
class ListVersion:
    """One version of a word list. Version 0 is the file; ``path`` is set for it only."""

    name: str
    version: int
    words: tuple[str, ...]
    sha: str
    author: str
    note: str | None = None
    created_at: datetime | None = None
    path: Path | None = None


@dataclass(frozen=True)
class WordDiff:
    """What changes from one list to another: words added and removed (each in its list's order)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reordered: bool = False  # the words they share are in another order (it changes seeded draws)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.reordered)

    def as_text(self) -> str:
        """Plain text: one '+ word' / '- word' line per change."""
        lines = [f"+ {w}" for w in self.added] + [f"- {w}" for w in self.removed]
        if self.reordered:
            lines.append("(the words both lists hold are in a different order)")
        return "\n".join(lines) if lines else "(no change)"


# -- validation ------------------------------------------------------------------------------------


def words_sha(words: Sequence[str]) -> str:
    """The version hash of a list: sha256 of its words, one per line, each line ending in a newline."""
    return hashlib.sha256("".join(f"{w}\n" for w in words).encode("utf-8")).hexdigest()[:12]


def parse_lines(text: str) -> list[str]:
    """The words of an editor's text, one per line. Blank lines at the end are dropped (an editor's last
    newline); every other line is kept as typed, so validation can point at it."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _key(word: str) -> str:
    """Two words with the same key are the same word to a reader (full/half width, case)."""
    return unicodedata.normalize("NFKC", word).casefold()


def validate_words(words: Sequence[str]) -> list[str]:
    """Every problem of a list, each naming the line (1-based) and the word; an empty list is fine."""
    if not words:
        return ["the list has no words: KADG needs at least one"]
    problems = []
    if len(words) > MAX_WORDS:
        problems.append(f"the list has {len(words):,} words; at most {MAX_WORDS:,} are allowed")
    seen: dict[str, int] = {}
    for line, word in enumerate(words, start=1):
        if not isinstance(word, str):
            problems.append(f"line {line}: {word!r} is not text")
        elif not word.strip():
            problems.append(f"line {line}: the word is empty")
        elif word != word.strip():
            problems.append(f"line {line}: {word!r} has whitespace before or after it")
        elif any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in word):
            problems.append(f"line {line}: {word!r} contains a line break or control character")
        elif len(word) > MAX_WORD_CHARS:
            problems.append(f"line {line}: {word[:20]!r}... has {len(word)} characters; at most {MAX_WORD_CHARS}")
        elif word.startswith("#"):
            problems.append(f"line {line}: {word!r} starts with '#', which a word-list file reads as a comment")
        elif _key(word) in seen:
            first = seen[_key(word)]
            how = "" if words[first - 1] == word else " (apart from width or case)"
            problems.append(f"line {line}: {word!r} repeats line {first} {words[first - 1]!r}{how}")
        else:
            seen[_key(word)] = line
    return problems


def check_words(words: Sequence[str]) -> tuple[str, ...]:
    """The words as a tuple, or WordListError with every problem."""
    problems = validate_words(words)
    if problems:
        raise WordListError(problems)
    return tuple(words)


def diff(old: Sequence[str], new: Sequence[str]) -> WordDiff:
    """Words added and removed from ``old`` to ``new``, and whether the shared words moved."""
    old_set, new_set = set(old), set(new)
    shared_old = [w for w in old if w in new_set]
    shared_new = [w for w in new if w in old_set]
    moved = difflib.SequenceMatcher(a=shared_old, b=shared_new, autojunk=False).ratio() < 1.0
    return WordDiff(
        added=[w for w in new if w not in old_set],
        removed=[w for w in old if w not in new_set],
        reordered=moved,
    )


# -- versions --------------------------------------------------------------------------------------

_COLUMNS = "list_name, version, words, sha, author, note, created_at"


def _from_row(row: tuple) -> ListVersion:
    name, version, words, sha, author, note, created_at = row
    return ListVersion(name, version, tuple(words), sha, author, note, created_at)


def file_version(project: Project, name: str) -> ListVersion:
    """Version 0: the shipped file (PromptError when it is missing or invalid)."""
    shipped = load_words(project.settings.prompts_dir, name)
    return ListVersion(
        name, 0, shipped.words, words_sha(shipped.words), FILE_AUTHOR, f"the file kadg/{shipped.path.name}",
        path=shipped.path,
    )  # fmt: skip


def _file_version_or_none(project: Project, name: str) -> ListVersion | None:
    try:
        return file_version(project, name)
    except PromptError:
        return None


def list_versions(project: Project, name: str) -> list[ListVersion]:
    """Every version, oldest first: the file (when it exists and is valid), then the saved ones."""
    with project.db.transaction() as con:
        rows = con.execute(
            f"SELECT {_COLUMNS} FROM word_list_versions WHERE list_name = ? ORDER BY version", [name]
        ).fetchall()
    shipped = _file_version_or_none(project, name)
    return ([shipped] if shipped else []) + [_from_row(r) for r in rows]


def _newest_row(con, name: str) -> ListVersion | None:
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM word_list_versions WHERE list_name = ? ORDER BY version DESC LIMIT 1", [name]
    ).fetchall()
    return _from_row(rows[0]) if rows else None


def current_words(project: Project, name: str) -> ListVersion:
    """The list generation uses now: the newest saved version, else the file (PromptError without either)."""
    with project.db.transaction() as con:
        newest = _newest_row(con, name)
    return newest or file_version(project, name)


def get_version(project: Project, name: str, version: int) -> ListVersion:
    for v in list_versions(project, name):
        if v.version == version:
            return v
    raise JapagenError(f"word list {name!r} has no version {version}")


def save_words(
    project: Project,
    name: str,
    words: Sequence[str],
    *,
    author: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> ListVersion:
    """Validate ``words`` and append them as the list's next version; return it.

    expected_version: the version the editor started from; when the list has moved on since, nothing is
    written (WordListConflictError). Refused too: invalid words (WordListError, naming each), an empty
    author, and a list identical to the current one.
    """
    checked = check_words(words)
    author = (author or "").strip()
    if not author:
        raise JapagenError("a save needs an author name")
    shipped = _file_version_or_none(project, name)  # read before the transaction: it is a file
    with project.db.transaction() as con:
        current = _newest_row(con, name) or shipped
        if expected_version is not None and (current.version if current else None) != expected_version:
            now = f"version {current.version} by {current.author}" if current else "no version"
            raise WordListConflictError(
                f"word list {name!r} changed since you opened version {expected_version} (it is now {now}); "
                "reload and apply your edit again"
            )
        if current is not None and current.words == checked:
            raise JapagenError(f"nothing to save: the words are the same as version {current.version}")
        saved = ListVersion(
            name, (current.version if current else 0) + 1, checked, words_sha(checked), author,
            (note or "").strip() or None, datetime.now(UTC).replace(tzinfo=None),
        )  # fmt: skip
        con.execute(
            f"INSERT INTO word_list_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [saved.name, saved.version, list(saved.words), saved.sha, saved.author, saved.note, saved.created_at],
        )
    return saved


def revert(
    project: Project,
    name: str,
    version: int,
    *,
    author: str,
    note: str | None = None,
    expected_version: int | None = None,
) -> ListVersion:
    """Make an older version current again by appending a copy of it (the history is never rewritten)."""
    old = get_version(project, name, version)
    return save_words(
        project, name, old.words, author=author, note=note or f"revert to version {version}",
        expected_version=expected_version,
    )  # fmt: skip


def revert_choices(versions: Sequence[ListVersion], current: ListVersion | None) -> list[int]:
    """The versions a revert may offer, newest first: those whose words differ from the current list
    (reverting to the same words would only add a copy of it)."""
    if current is None:
        return [v.version for v in reversed(versions)]
    return [v.version for v in reversed(versions) if v.version != current.version and v.sha != current.sha]


def compare_pair(versions: Sequence[ListVersion]) -> tuple[int, int] | None:
    """The two versions a comparison starts on: the one before the newest, and the newest; None with fewer
    than two. The newest moves with every save, so a view keyed on it follows the list."""
    if len(versions) < 2:
        return None
    return versions[-2].version, versions[-1].version


def task_lists(project: Project) -> dict[str, str]:
    """The word list of each task whose prompt spec has one (tasks with a broken spec are left out)."""
    found = {}
    for task in project.registry.values():
        try:
            spec = load_spec(project.settings.prompts_dir, task)
        except PromptError:
            continue
        if spec.kadg_words:
            found[task.name] = spec.kadg_words
    return found


# -- statistics of past runs ------------------------------------------------------------------------

STATS_COLUMNS = ["word", "in current list", "examples", "runs", "Self-BLEU", "texts scored", "label correct",
                 "checked"]  # fmt: skip

# The task's synthetic examples that carry a KADG word.
_KADG_EXAMPLES = """
    SELECT e.dataset_id, e.row_idx, e.text, e.text_b, e.label,
           json_extract_string(e.provenance, '$.kadg_word') AS word
    FROM examples e JOIN datasets d ON d.id = e.dataset_id
    WHERE d.task = ? AND d.kind = 'synthetic' AND json_extract_string(e.provenance, '$.kadg_word') IS NOT NULL
"""


def word_stats(
    project: Project, task_name: str, list_name: str, *, per_word: int = STATS_PER_WORD, seed: int = 0
) -> pd.DataFrame:
    """Per word of the current list (and any other word past runs used): examples, runs, Self-BLEU and
    label correctness, one row per word, the current list's words first in its order.

    Self-BLEU scores a seeded sample of up to ``per_word`` texts per word (for pair tasks, the distinct
    first sentences and every second sentence); its signature is in ``frame.attrs["signature"]``.
    Label correctness is the share of a word's examples whose label the classifier of each dataset's
    latest label-correctness analysis predicts (the nearest grade for score tasks). A score that cannot be
    computed (fewer than two texts, no analysis) is NaN.
    """
    if per_word < 2:
        raise ValueError(f"per_word {per_word!r} must be at least 2 (Self-BLEU needs two texts)")
    task = project.registry[task_name]
    try:
        current = current_words(project, list_name).words
    except PromptError:
        current = ()
    with project.db.transaction() as con:
        counts = con.execute(
            f"SELECT word, count(*) AS examples, count(DISTINCT dataset_id) AS runs FROM ({_KADG_EXAMPLES}) "
            "GROUP BY word",
            [task.name],
        ).fetchall()
        sample = con.execute(
            f"SELECT word, dataset_id, text, text_b FROM ("
            f"  SELECT *, row_number() OVER (PARTITION BY word ORDER BY md5(? || dataset_id || ':' || row_idx)) AS k"
            f"  FROM ({_KADG_EXAMPLES})) WHERE k <= ? ORDER BY word, dataset_id, row_idx",
            [str(seed), task.name, per_word],
        ).fetchall()
        checked = con.execute(
            f"""
            WITH latest AS (
                SELECT dataset_id, arg_max(id, created_at) AS analysis_id
                FROM analysis_results WHERE kind = 'correctness' GROUP BY dataset_id
            )
            SELECT x.word, x.label, p.predicted, round(p.score) AS grade, count(*) AS n  -- few groups, not rows
            FROM ({_KADG_EXAMPLES}) x
            JOIN latest l ON l.dataset_id = x.dataset_id
            JOIN example_predictions p
              ON p.analysis_id = l.analysis_id AND p.dataset_id = x.dataset_id AND p.row_idx = x.row_idx
            GROUP BY ALL
            """,
            [task.name],
        ).df()
    counted = {word: (n, runs) for word, n, runs in counts}
    retired = sorted((w for w in counted if w not in set(current)), key=lambda w: (-counted[w][0], w))
    words = list(current) + retired
    bleu, signature = _self_bleu_per_word(task.is_pair, sample, per_word, seed)
    correct = _correctness_per_word(task, checked)
    in_list = set(current)
    rows = [
        [w, w in in_list, *counted.get(w, (0, 0)), *bleu.get(w, (None, 0)), *correct.get(w, (None, 0))] for w in words
    ]
    frame = pd.DataFrame(rows, columns=STATS_COLUMNS).astype({"Self-BLEU": float, "label correct": float})
    frame.attrs["signature"] = signature
    return frame


def _self_bleu_per_word(is_pair: bool, sample: list[tuple], per_word: int, seed: int):
    """{word: (Self-BLEU, texts scored)} and the signature shared by every word's score."""
    texts: dict[str, list[str]] = {}
    firsts: dict[str, dict[tuple[str, str], None]] = {}
    for word, dataset_id, text, text_b in sample:
        if is_pair:  # one stage-1 sentence is the first text of one example per label: count it once
            firsts.setdefault(word, {})[(dataset_id, text)] = None
            texts.setdefault(word, []).append(text_b)
        else:
            texts.setdefault(word, []).append(text)
    tokenizer = Tokenizer("surface")  # the Analysis page's default, so the numbers compare
    pair = "|pair:distinct-first+second" if is_pair else ""
    options = {
        "tokenizer_signature": tokenizer.signature,
        "sample_signature": f"sample:{per_word}-per-word|seed:{seed}{pair}",
    }
    scores, signature = {}, None
    rng = random.Random(seed)
    for word, group in texts.items():
        group = [t for _, t in firsts.get(word, {})] + group
        if len(group) > per_word:  # pairs: first and second sentences together, still at most per_word
            group = rng.sample(group, per_word)
        if len(group) < 2:
            scores[word] = (None, len(group))
            continue
        result = self_bleu(tokenizer.tokenize_all(group), **options)
        scores[word] = (round(result.score, 2), len(group))
        signature = re.sub(r"\|n:\d+", "", result.signature)
    return scores, signature


def _correctness_per_word(task, checked: pd.DataFrame) -> dict[str, tuple[float, int]]:
    """{word: (share of examples the classifier agrees with, examples checked)} from counts per
    (word, label, predicted label, predicted grade): SQL's round() is half away from zero, like
    Task.grade_for_score."""
    totals: dict[str, list[int]] = {}
    for word, label, predicted, grade, n in checked.itertuples(index=False):
        if task.target == "score":
            predicted = None if pd.isna(grade) else task.grade_for_score(float(grade))
        agree = isinstance(predicted, str) and predicted == label
        total = totals.setdefault(word, [0, 0])
        total[0] += int(n) * agree
        total[1] += int(n)
    return {word: (round(ok / n, 4), n) for word, (ok, n) in totals.items()}
