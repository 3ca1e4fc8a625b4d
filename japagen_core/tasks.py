"""The task registry: the six JAPAGEN paper tasks plus user-defined tasks from YAML.

Every task, built in or user-defined, goes through the same ``task_from_dict`` validation, so a user
task works everywhere a paper task works. Nothing outside this module may special-case a task by name:
code asks a ``Task`` for its input kind, labels, target kind, metric and gold field names instead.

User tasks live in ``<prompts>/tasks/<name>.yaml``; see ``prompts/tasks/customer_inquiry.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import StrictInt, StrictStr, field_validator, model_validator

from japagen_core.errors import TaskError, UnknownLabelError, UnknownTaskError
from japagen_core.specs import Spec, check

INPUT_KINDS = ("single", "pair")
METRICS = ("accuracy", "spearman", "mcc")
TARGETS = ("class", "score")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Label:
    """One class of a task. ``id`` is the integer the upstream data uses (e.g. JCoLA 1 = acceptable)."""

    id: int
    name: str
    display_ja: str
    description: str = ""

    def display(self) -> str:
        """Name with its Japanese display name, e.g. ``entailment (含意)``."""
        return self.name if self.display_ja == self.name else f"{self.name} ({self.display_ja})"


@dataclass(frozen=True)
class GoldFields:
    """Field names of the task's native gold format (e.g. JGLUE's ``sentence1``/``sentence2``)."""

    text: str = "text"
    text_b: str | None = None
    label: str | None = "label"
    score: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Task:
    """A classification (or, for JSTS-like tasks, graded-similarity) task.

    target ``class``: gold examples carry one of ``labels``.
    target ``score``: gold examples carry a float in ``score_range``; ``labels`` are the integer grades
    the LLM generates (JSTS: six grades 0..5), and a score is shown under its nearest grade.
    """

    name: str
    title: str
    title_ja: str
    description: str
    input_kind: str
    labels: tuple[Label, ...]
    metric: str
    max_length: int
    target: str = "class"
    score_range: tuple[float, float] | None = None
    text_names: tuple[str, ...] = ("text",)
    gold_fields: GoldFields = field(default_factory=GoldFields)
    gold_label_as_id: bool = False  # the gold format writes labels as their integer id (JCoLA: 0 / 1)
    builtin: bool = True
    source: str = "builtin"

    @property
    def is_pair(self) -> bool:
        return self.input_kind == "pair"

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    def label(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise UnknownLabelError(f"task {self.name!r} has no label {name!r}; labels: {self.label_names}")

    def resolve_label(self, value: Any) -> Label:
        """Map a raw label value (name, Japanese display name or integer id) to a label."""
        if isinstance(value, bool) or value is None:
            raise UnknownLabelError(self._unknown(value))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            text = value.strip()
            for label in self.labels:
                if text in (label.name, label.display_ja):
                    return label
            if re.fullmatch(r"-?\d+(\.0+)?", text):  # "1" or "1.0" (pandas writes float labels)
                value = int(float(text))
        if isinstance(value, int):
            for label in self.labels:
                if label.id == value:
                    return label
        raise UnknownLabelError(self._unknown(value))

    def _unknown(self, value: Any) -> str:
        ids = ", ".join(f"{label.id}={label.name}" for label in self.labels)
        return f"label {value!r} is not a label of task {self.name!r} (labels: {ids})"

    def check_score(self, value: Any) -> float:
        """Validate a gold score of a ``score`` task and return it as a float."""
        if isinstance(value, bool):
            raise UnknownLabelError(f"score {value!r} is not a number")
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise UnknownLabelError(f"score {value!r} is not a number") from None
        low, high = self.score_range or (float("-inf"), float("inf"))
        if not low <= score <= high:
            raise UnknownLabelError(f"score {score} is outside the task's range {low}-{high}")
        return score

    def grade_for_score(self, score: float) -> str:
        """The label name of the grade nearest to a score (half rounds up, as SQL's round does)."""
        grade = int(score + 0.5) if score >= 0 else -int(-score + 0.5)
        ids = {label.id: label.name for label in self.labels}
        return ids.get(grade, str(grade))


# --- definition and validation ---------------------------------------------------------------


class LabelSpec(Spec):
    id: StrictInt | None = None  # default: the label's position from 0
    name: str
    display_ja: str | None = None
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("a label has an empty 'name'")
        if name != name.strip():
            raise ValueError(f"label {name!r}: name has surrounding whitespace")
        return name


class GoldFieldsSpec(Spec):
    text: StrictStr | None = None
    text_b: StrictStr | None = None
    label: StrictStr | None = None
    score: StrictStr | None = None
    id: StrictStr | None = None


class TaskSpec(Spec):
    """A task definition as written (``prompts/tasks/<name>.yaml`` or ``PAPER_TASKS``)."""

    name: str
    title: str
    input_kind: str
    labels: list[LabelSpec]
    metric: str
    max_length: Any
    title_ja: str | None = None
    description: str | None = None
    target: str = "class"
    score_range: Any = None
    text_names: list[StrictStr] | None = None
    gold_fields: GoldFieldsSpec | None = None
    gold_label_as_id: Any = False

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME_RE.match(name):
            raise ValueError(f"name {name!r} must be lower-case letters, digits and '_' (start with a letter)")
        return name

    @field_validator("input_kind")
    @classmethod
    def _input_kind(cls, value: str) -> str:
        return _one_of("input_kind", value, INPUT_KINDS)

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        return _one_of("metric", value, METRICS)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return _one_of("target", value, TARGETS)

    @field_validator("max_length")
    @classmethod
    def _max_length(cls, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 8 <= value <= 8192:
            raise ValueError(f"max_length {value!r} must be an integer between 8 and 8192")
        return value

    @field_validator("gold_label_as_id")
    @classmethod
    def _as_id(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"gold_label_as_id {value!r} must be true or false")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_list(cls, value: Any) -> Any:
        if not isinstance(value, list) or len(value) < 2:
            raise ValueError("labels must be a list of at least two labels")
        return value

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[LabelSpec]) -> list[LabelSpec]:
        for attr, values in (("id", _label_ids(labels)), ("name", [label.name for label in labels])):
            dupes = sorted({v for v in values if values.count(v) > 1}, key=str)
            if dupes:
                raise ValueError(f"duplicate label {attr}(s): {dupes}")
        return labels

    @model_validator(mode="after")
    def _together(self) -> TaskSpec:
        if self.target != "score" and self.score_range is not None:
            raise ValueError("score_range is only allowed with target 'score'")
        if self.target == "score":
            raw = self.score_range
            numbers = isinstance(raw, list) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
            if not (numbers and len(raw) == 2):
                raise ValueError("target 'score' needs score_range: [low, high]")
            if float(raw[0]) >= float(raw[1]):
                raise ValueError(f"score_range {raw} must have low < high")
        wanted = 2 if self.input_kind == "pair" else 1
        if self.text_names and len(self.text_names) != wanted:
            raise ValueError(f"text_names {self.text_names} must name {wanted} text(s)")
        if self.input_kind != "pair" and self.gold_fields is not None and self.gold_fields.text_b:
            raise ValueError("gold_fields.text_b is only allowed for pair tasks")
        return self


def _one_of(key: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{key} {value!r} must be one of {list(choices)}")
    return value


def _label_ids(labels: list[LabelSpec]) -> list[int]:
    return [position if label.id is None else label.id for position, label in enumerate(labels)]


def task_from_dict(data: Mapping[str, Any], *, source: str, builtin: bool) -> Task:
    """Build a task from its definition; raise ``TaskError`` naming the source and the bad key."""
    spec = check(TaskSpec, data, source=source, error=TaskError)
    labels = tuple(
        Label(label_id, label.name, label.display_ja or label.name, label.description or "")
        for label_id, label in zip(_label_ids(spec.labels), spec.labels, strict=True)
    )
    default_names = ("sentence 1", "sentence 2") if spec.input_kind == "pair" else ("text",)
    return Task(
        name=spec.name,
        title=spec.title,
        title_ja=spec.title_ja or spec.title,
        description=spec.description or "",
        input_kind=spec.input_kind,
        labels=labels,
        metric=spec.metric,
        max_length=spec.max_length,
        target=spec.target,
        score_range=(float(spec.score_range[0]), float(spec.score_range[1])) if spec.target == "score" else None,
        text_names=tuple(spec.text_names or default_names),
        gold_fields=_gold_fields(spec),
        gold_label_as_id=spec.gold_label_as_id,
        builtin=builtin,
        source=source,
    )


def _gold_fields(spec: TaskSpec) -> GoldFields:
    raw = spec.gold_fields.model_dump(exclude_unset=True) if spec.gold_fields else {}
    if spec.target == "score":
        raw.setdefault("score", "score")
        raw.setdefault("label", None)
    if spec.input_kind == "pair":
        raw.setdefault("text_b", "text_b")
    return GoldFields(**raw)


# --- the paper's six tasks --------------------------------------------------------------------

_JSTS_GRADES = ["全く無関係", "単語は共通するが無関係", "少し関連", "関連", "類似", "同一内容"]

PAPER_TASKS: list[dict[str, Any]] = [
    {
        "name": "marc_ja",
        "title": "MARC-ja",
        "title_ja": "商品レビュー感情分類",
        "description": "Sentiment of a product review from a Japanese mail-order site.",
        "input_kind": "single",
        "metric": "accuracy",
        "max_length": 512,
        "text_names": ["review"],
        "labels": [
            {"id": 0, "name": "positive", "display_ja": "ポジティブ"},
            {"id": 1, "name": "negative", "display_ja": "ネガティブ"},
        ],
        "gold_fields": {"text": "sentence", "label": "label", "id": "review_id"},
    },
    {
        "name": "jsts",
        "title": "JSTS",
        "title_ja": "文類似度",
        "description": "Semantic similarity (0.0-5.0) of two image captions; generated as six grades.",
        "input_kind": "pair",
        "metric": "spearman",
        "max_length": 512,
        "target": "score",
        "score_range": [0.0, 5.0],
        "text_names": ["sentence 1", "sentence 2"],
        "labels": [{"id": i, "name": str(i), "display_ja": grade} for i, grade in enumerate(_JSTS_GRADES)],
        "gold_fields": {"text": "sentence1", "text_b": "sentence2", "score": "label", "id": "sentence_pair_id"},
    },
    {
        "name": "jnli",
        "title": "JNLI",
        "title_ja": "自然言語推論",
        "description": "Inference relation between two image captions: premise and hypothesis.",
        "input_kind": "pair",
        "metric": "accuracy",
        "max_length": 512,
        "text_names": ["premise", "hypothesis"],
        "labels": [
            {"id": 0, "name": "entailment", "display_ja": "含意"},
            {"id": 1, "name": "contradiction", "display_ja": "矛盾"},
            {"id": 2, "name": "neutral", "display_ja": "中立"},
        ],
        "gold_fields": {"text": "sentence1", "text_b": "sentence2", "label": "label", "id": "sentence_pair_id"},
    },
    {
        "name": "jcola",
        "title": "JCoLA",
        "title_ja": "文法性判断",
        "description": "Whether a Japanese sentence is grammatically acceptable.",
        "input_kind": "single",
        "metric": "mcc",
        "max_length": 128,
        "text_names": ["sentence"],
        "labels": [
            {"id": 0, "name": "unacceptable", "display_ja": "容認不可"},
            {"id": 1, "name": "acceptable", "display_ja": "容認可能"},
        ],
        "gold_fields": {"text": "sentence", "label": "label", "id": "uid"},
        "gold_label_as_id": True,
    },
    {
        "name": "livedoor",
        "title": "Livedoor News",
        "title_ja": "ニュース記事分類",
        "description": "Topic (one of nine Livedoor News media) of a news article.",
        "input_kind": "single",
        "metric": "accuracy",
        "max_length": 512,
        "text_names": ["article"],
        "labels": [
            {"id": 0, "name": "topic-news", "display_ja": "トピックニュース", "description": "時事ニュース"},
            {"id": 1, "name": "sports-watch", "display_ja": "Sports Watch", "description": "スポーツ"},
            {"id": 2, "name": "it-life-hack", "display_ja": "ITライフハック", "description": "ITの便利な使い方"},
            {"id": 3, "name": "kaden-channel", "display_ja": "家電チャンネル", "description": "家電製品"},
            {"id": 4, "name": "movie-enter", "display_ja": "MOVIE ENTER", "description": "映画・エンタメ"},
            {"id": 5, "name": "dokujo-tsushin", "display_ja": "独女通信", "description": "働く独身女性の本音"},
            {"id": 6, "name": "smax", "display_ja": "エスマックス", "description": "スマートフォン・ガジェット"},
            {"id": 7, "name": "livedoor-homme", "display_ja": "livedoor HOMME", "description": "男性の仕事と生活"},
            {"id": 8, "name": "peachy", "display_ja": "Peachy", "description": "恋愛・ファッション・美容"},
        ],
        "gold_fields": {"text": "text", "label": "label"},
    },
    {
        "name": "covid19",
        "title": "COVID-19",
        "title_ja": "COVID-19ツイート分類",
        "description": (
            "Kind of a Japanese tweet: general fact, personal fact, opinion/impression about COVID-19, or unrelated "
            "to COVID-19 (the paper's four classes). Label ids are the Gifu dataset's assessment ids; 66 and 68 "
            "are refused unless mapped (import-gold --map-label 66=LABEL)."
        ),
        "input_kind": "single",
        "metric": "accuracy",
        "max_length": 384,
        "text_names": ["tweet"],
        "labels": [
            {"id": 63, "name": "general_fact", "display_ja": "一般的事実"},
            {"id": 64, "name": "personal_fact", "display_ja": "個人的事実"},
            {"id": 65, "name": "opinion", "display_ja": "意見・感想"},
            {"id": 67, "name": "unrelated", "display_ja": "COVID-19と無関係"},
        ],
        "gold_fields": {"text": "text", "label": "label"},
    },
]


class Registry(Mapping[str, Task]):
    """All tasks by name, paper tasks first, then user tasks sorted by name.

    ``problems`` lists the user task files that were skipped, with why: one broken file must not
    take the whole app down.
    """

    def __init__(self, tasks: list[Task], problems: list[str] | None = None):
        self._tasks: dict[str, Task] = {}
        self.problems = list(problems or [])
        for task in tasks:
            if task.name in self._tasks:
                defined = self._tasks[task.name].source
                self.problems.append(f"{task.source}: task name {task.name!r} is already defined by {defined}")
                continue
            self._tasks[task.name] = task

    def __getitem__(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise UnknownTaskError(f"unknown task {name!r}; known tasks: {sorted(self._tasks)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)


def paper_tasks() -> list[Task]:
    return [task_from_dict(spec, source="builtin", builtin=True) for spec in PAPER_TASKS]


def load_user_task(path: Path) -> Task:
    """Read one ``<prompts_dir>/tasks/<name>.yaml``; a broken file raises ``TaskError`` naming it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: not valid YAML: {exc}") from None
    task = task_from_dict(data, source=str(path), builtin=False)
    if task.name != path.stem:
        raise TaskError(f"{path}: task name {task.name!r} must match the file name {path.stem!r}")
    return task


def load_registry(prompts_dir: Path | None) -> Registry:
    """The paper tasks plus the user tasks under ``prompts_dir/tasks`` (none if it is None).

    A broken user task file is skipped and reported in ``Registry.problems``.
    """
    tasks, problems = paper_tasks(), []
    for path in sorted((prompts_dir / "tasks").glob("*.yaml")) if prompts_dir is not None else []:
        try:
            tasks.append(load_user_task(path))
        except TaskError as exc:
            problems.append(str(exc))
    return Registry(tasks, problems)
