"""Prompt specs (``prompts/<task>.yaml``) and KADG word lists (``prompts/kadg/<name>.txt``).

A spec follows the method's structure: a system description, a first instruction for pair tasks, one
instruction per label, a few-shot block and the KADG hint. Rendering is strict: a placeholder a field
may not use, or a variable missing at render time, is an error naming the field and the placeholder.
Every spec and word list has a version (a hash of its bytes) that each generated example records.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import StrictStr, ValidationInfo, field_validator, model_validator

from japagen_core.errors import JapagenError
from japagen_core.specs import Spec, check
from japagen_core.tasks import Task

SETTINGS = ("zero-shot", "few-shot", "kadg")
PRESETS = ("japagen", "paper")  # japagen's own prompts (prompts/<task>.yaml) or the authors' (imported)
# Which placeholders each field may use.
_ALLOWED = {
    "system": {"kadg"},
    "first_instruction": {"kadg"},
    "labels": {"kadg"},
    "kadg.text": {"word"},
    "kadg.system": {"word"},  # a whole system text for the KADG setting (the authors' <task>*.json content)
    "kadg.labels": {"word"},
    "fewshot": {"example"},
    "annotate": {"text", "text_b", "labels"},
}

Message = dict[str, str]


class PromptError(JapagenError):
    """A prompt spec or word list is invalid, or a render is missing a variable."""


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def render(template: str, variables: Mapping[str, str], *, where: str) -> str:
    """Fill ``{name}`` placeholders; a missing variable is an error naming it and the field."""
    missing = sorted(placeholders(template) - set(variables))
    if missing:
        raise PromptError(f"{where}: no value for placeholder(s) {missing}")
    return template.format_map(dict(variables))


@dataclass(frozen=True)
class WordList:
    name: str
    words: tuple[str, ...]
    version: str
    path: Path


def load_words(prompts_dir: Path, name: str) -> WordList:
    """One word per line; blank lines and lines starting with '#' are skipped."""
    path = prompts_dir / "kadg" / f"{name}.txt"
    if not path.exists():
        raise PromptError(f"{path}: KADG word list not found")
    data = path.read_bytes()
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise PromptError(f"{path}: not valid UTF-8 ({exc})") from None
    words = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    dupes = sorted({w for w in words if words.count(w) > 1})
    if dupes:
        raise PromptError(f"{path}: duplicate word(s) {dupes}")
    if not words:
        raise PromptError(f"{path}: the word list is empty")
    return WordList(name, tuple(words), _version(data), path)


@dataclass(frozen=True)
class PromptSpec:
    task: str
    system: str
    first_instruction: str | None
    labels: Mapping[str, str]
    fewshot: str
    annotate: str
    kadg_text: str | None
    kadg_words: str | None
    kadg_labels: Mapping[str, str] | None
    version: str
    path: Path
    kadg_system: str | None = None
    kadg_word_list: tuple[str, ...] | None = None  # words written in the spec itself (the paper preset)
    preset: str = "japagen"

    @property
    def has_kadg(self) -> bool:
        return self.kadg_text is not None or self.kadg_labels is not None or self.kadg_system is not None

    # -- messages ------------------------------------------------------------------------------

    def _kadg(self, setting: str, word: str | None) -> str:
        if setting != "kadg" or self.kadg_text is None:
            return ""
        if word is None:
            raise PromptError(f"{self.path}: the KADG setting needs a word for kadg.text")
        return render(self.kadg_text, {"word": word}, where=f"{self.path}: kadg.text")

    def _word_vars(self, word: str | None) -> dict[str, str]:
        return {} if word is None else {"word": word}

    def system_message(self, setting: str, word: str | None) -> Message:
        if setting == "kadg" and self.kadg_system is not None:
            content = render(self.kadg_system, self._word_vars(word), where=f"{self.path}: kadg.system")
            return {"role": "system", "content": content}
        content = render(self.system, {"kadg": self._kadg(setting, word)}, where=f"{self.path}: system")
        return {"role": "system", "content": content}

    def label_instruction(self, label: str, setting: str, word: str | None, example: str | None) -> str:
        if setting == "kadg" and self.kadg_labels is not None:
            template, where = self.kadg_labels[label], f"kadg.labels.{label}"
        else:
            template, where = self.labels[label], f"labels.{label}"
        variables = {"kadg": self._kadg(setting, word), **self._word_vars(word)}
        text = render(template, variables, where=f"{self.path}: {where}")
        if setting == "few-shot":
            if example is None:
                raise PromptError(f"{self.path}: the few-shot setting needs a gold example for label {label!r}")
            text += "\n\n" + render(self.fewshot, {"example": example}, where=f"{self.path}: fewshot")
        return text

    def single_messages(self, label: str, *, setting: str, word: str | None = None, example: str | None = None):
        """Single-text task: [system, label instruction]."""
        return [
            self.system_message(setting, word),
            {"role": "user", "content": self.label_instruction(label, setting, word, example)},
        ]

    def first_messages(self, *, setting: str, word: str | None = None) -> list[Message]:
        """Pair task, stage 1: [system, first instruction] gives x1 (no label)."""
        first = render(self.first_instruction or "", {"kadg": self._kadg(setting, word)}, where=f"{self.path}: first")
        return [self.system_message(setting, word), {"role": "user", "content": first}]

    def second_messages(
        self, label: str, x1: str, *, setting: str, word: str | None = None, example: str | None = None
    ) -> list[Message]:
        """Pair task, stage 2: the stage-1 chat, x1 as the assistant's answer, then the label instruction."""
        return [
            *self.first_messages(setting=setting, word=word),
            {"role": "assistant", "content": x1},
            {"role": "user", "content": self.label_instruction(label, setting, word, example)},
        ]

    def annotate_messages(self, task: Task, text: str, text_b: str | None) -> list[Message]:
        labels = "、".join(label.name for label in task.labels)
        variables = {"text": text, "text_b": text_b or "", "labels": labels}
        content = render(self.annotate, variables, where=f"{self.path}: annotate")
        return [self.system_message("zero-shot", None), {"role": "user", "content": content}]


def format_example(task: Task, text: str, text_b: str | None) -> str:
    """A gold example as it appears in a few-shot block."""
    if task.is_pair:
        return f"1文目：{text}\n2文目：{text_b}"
    return text


def load_spec(prompts_dir: Path, task: Task) -> PromptSpec:
    """Read and check ``<prompts_dir>/<task>.yaml`` against the task."""
    path = prompts_dir / f"{task.name}.yaml"
    if not path.exists():
        raise PromptError(f"{path}: no prompt spec for task {task.name!r}; copy one of prompts/*.yaml")
    return parse_spec(path.read_bytes(), task, path)


def parse_spec(data: bytes, task: Task, path: Path, *, preset: str = "japagen") -> PromptSpec:
    """Check a spec's bytes against the task; ``path`` names where they came from in every error."""
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: not valid YAML ({exc})") from None
    spec = check(SpecFile, raw, source=str(path), error=PromptError, context={"task": task})
    kadg = spec.kadg or KadgSpec()
    return PromptSpec(
        task=task.name,
        system=spec.system,
        first_instruction=spec.first_instruction,
        labels=spec.labels,
        fewshot=spec.fewshot,
        annotate=spec.annotate,
        kadg_text=kadg.text,
        kadg_words=kadg.words,
        kadg_labels=kadg.labels,
        version=_version(data),
        path=path,
        kadg_system=kadg.system,
        kadg_word_list=tuple(kadg.word_list) if kadg.word_list else None,
        preset=preset,
    )


# --- the spec file's schema ---------------------------------------------------------------------------


def _label_templates(raw: Any, info: ValidationInfo, where: str) -> Any:
    """Label name -> instruction, covering exactly the task's labels, in the task's order."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must map each label name to an instruction")
    raw = {str(k): v for k, v in raw.items()}
    task: Task = info.context["task"]
    missing = [name for name in task.label_names if name not in raw]
    extra = sorted(set(raw) - set(task.label_names))
    if missing or extra:
        raise ValueError(
            f"{where} must cover exactly the labels {task.label_names} (missing {missing}, unknown {extra})"
        )
    return {name: raw[name] for name in task.label_names}


def _templates(fields: Mapping[str, Any], allowed: set[str]) -> None:
    for where, template in fields.items():
        unknown = sorted(placeholders(template) - allowed)
        if unknown:
            raise ValueError(f"{where} uses unknown placeholder(s) {unknown}; allowed: {sorted(allowed)}")


class KadgSpec(Spec):
    text: StrictStr | None = None
    words: StrictStr | None = None
    labels: dict[str, StrictStr] | None = None
    system: StrictStr | None = None  # a whole system text for the KADG setting (the authors' <task>*.json)
    word_list: list[StrictStr] | None = None  # the words written in the spec itself (the paper preset)

    @field_validator("labels", mode="before")
    @classmethod
    def _cover(cls, raw: Any, info: ValidationInfo) -> Any:
        return None if raw is None else _label_templates(raw, info, "kadg.labels")

    @field_validator("word_list")
    @classmethod
    def _words(cls, raw: list[str] | None) -> list[str] | None:
        if raw is None:
            return None
        if not raw or not all(w.strip() for w in raw):
            raise ValueError("kadg.word_list must be a non-empty list of words")
        dupes = sorted({w for w in raw if raw.count(w) > 1})
        if dupes:
            raise ValueError(f"kadg.word_list has duplicate word(s) {dupes}")
        return raw

    @model_validator(mode="after")
    def _check(self) -> KadgSpec:
        if self.words is not None and self.word_list is not None:
            raise ValueError("kadg.words (a list file) and kadg.word_list (the words) exclude each other")
        own_templates = self.system is not None or self.labels is not None or self.word_list is not None
        if (self.text is None) != (self.words is None) and not own_templates:
            raise ValueError("kadg.text and kadg.words go together")
        templates = {
            "kadg.text": self.text or "",
            "kadg.system": self.system or "",
            **{f"kadg.labels.{k}": v for k, v in (self.labels or {}).items()},
        }
        for where, template in templates.items():
            _templates({where: template}, _ALLOWED[".".join(where.split(".")[:2])])
        uses_word = any("word" in placeholders(t) for t in templates.values())
        if uses_word and self.words is None and self.word_list is None:
            raise ValueError("a KADG template uses {word} but there is no kadg.words or kadg.word_list")
        return self


class SpecFile(Spec):
    """``prompts/<task>.yaml`` as written; checked against the task given in the validation context."""

    system: StrictStr
    labels: dict[str, StrictStr]
    fewshot: StrictStr
    annotate: StrictStr
    first_instruction: StrictStr | None = None
    kadg: KadgSpec | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _cover(cls, raw: Any, info: ValidationInfo) -> Any:
        return _label_templates(raw, info, "labels")

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> SpecFile:
        task: Task = info.context["task"]
        if task.is_pair and not self.first_instruction:
            raise ValueError(f"pair task {task.name!r} needs first_instruction")
        if not task.is_pair and self.first_instruction is not None:
            raise ValueError("first_instruction is only for pair tasks")
        _templates({"system": self.system, "first_instruction": self.first_instruction or ""}, _ALLOWED["system"])
        _templates({f"labels.{k}": v for k, v in self.labels.items()}, _ALLOWED["labels"])
        _templates({"fewshot": self.fewshot}, _ALLOWED["fewshot"])
        _templates({"annotate": self.annotate}, _ALLOWED["annotate"])
        used = any("kadg" in placeholders(t) for t in (self.system, *self.labels.values()))
        if self.kadg is not None and self.kadg.text is not None and not used:
            raise ValueError("kadg.text is never used: put {kadg} in system or a label instruction")
        return self
