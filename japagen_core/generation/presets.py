"""Prompt presets: japagen's own prompts, or the JAPAGEN authors' configs imported as the ``paper`` preset.

The authors published one JSON config per task and setting (retrieva/JapaGen): ``<task>.json`` for
zero-shot and ``<task>*.json`` (a literal ``*``) for KADG, with ``task_name``, ``content`` (the system
text), ``first instruction`` (pair tasks, stage 1) and ``labels`` ("0", "1", ... each with an
``instruction``). A KADG config holds its words under a key (``"object"``, ``"genre"``) that appears
in quotes in the texts; the word replaces the key between the quotes. ``read_official`` turns such a
folder into one japagen prompt spec per task it recognises (zero-shot texts as ``system`` / ``labels``,
the KADG texts as ``kadg.system`` / ``kadg.labels`` / ``kadg.word_list``), exactly as written: nothing
is paraphrased or corrected (the authors' 「スポポーツ」 stays). The authors' configs have no few-shot
block and no annotation prompt, so those two come from japagen's spec of the task and say so.

Presets live in the store (table ``prompt_presets``), never as files under JAPAGEN_HOME.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from japagen_core.errors import JapagenError
from japagen_core.generation.prompts import PRESETS, PromptError, PromptSpec, load_spec, parse_spec
from japagen_core.project import Project
from japagen_core.review.word_lists import ListVersion, current_words, words_sha
from japagen_core.tasks import Registry, Task

PAPER = "paper"
# The authors' task_name -> japagen's task. Other names are looked up in the registry as they are.
OFFICIAL_TASK_NAMES = {"marcja": "marc_ja", "news": "livedoor", "covid-19": "covid19"}
_KEYS = {"task_name", "content", "first instruction", "labels"}
_FALLBACK_FEWSHOT = "参考までに、同じ種類の例を示します。\n例：{example}"
_FALLBACK_ANNOTATE = "次の文のラベルを答えてください。\n{text}\n{text_b}\n選択肢：{labels}"


class PresetError(JapagenError):
    """A config of the authors' format is invalid, or a preset is missing."""


@dataclass
class OfficialImport:
    """What ``read_official`` made of a folder: a spec per task, and why other files were skipped."""

    specs: dict[str, str] = field(default_factory=dict)  # task -> spec YAML
    sources: dict[str, list[str]] = field(default_factory=dict)  # task -> file names it came from
    notes: dict[str, list[str]] = field(default_factory=dict)  # task -> what was mapped, how many words
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for task in self.specs:
            out.append(f"paper preset for {task} from {' + '.join(self.sources[task])}: " + "; ".join(self.notes[task]))
        out += [f"skipped {line}" for line in self.skipped]
        return out


@dataclass(frozen=True)
class _Config:
    path: Path
    task: Task
    kadg: bool
    content: str
    first: str | None
    labels: dict[str, str]  # japagen label name -> instruction
    word_key: str | None
    words: tuple[str, ...] | None


def read_official(directory: Path, registry: Registry, prompts_dir: Path) -> OfficialImport:
    """Read every ``*.json`` in ``directory``; raise ``PresetError`` naming the file and key of a problem."""
    if not directory.is_dir():
        raise PresetError(f"{directory}: not a folder (give the folder that holds <task>.json and <task>*.json)")
    result, configs = OfficialImport(), {}
    for path in sorted(directory.glob("*.json")):
        raw = _load_json(path)
        name = raw.get("task_name")
        task_name = OFFICIAL_TASK_NAMES.get(name, name) if isinstance(name, str) else None
        if task_name not in registry:
            result.skipped.append(f"{path.name}: task_name {name!r} is not a task japagen knows")
            continue
        config = _config(path, raw, registry[task_name])
        key = (config.task.name, config.kadg)
        if key in configs:
            raise PresetError(f"{path}: a second {'KADG' if config.kadg else 'zero-shot'} config of "
                              f"{config.task.name} (the first is {configs[key].path.name})")  # fmt: skip
        configs[key] = config
    for (task_name, kadg), config in sorted(configs.items()):
        if kadg:
            if (task_name, False) not in configs:
                result.skipped.append(f"{config.path.name}: no zero-shot config of {task_name} beside it")
            continue
        kadg_config = configs.get((task_name, True))
        spec = _spec(config, kadg_config, prompts_dir)
        result.specs[task_name] = spec
        result.sources[task_name] = [c.path.name for c in (config, kadg_config) if c is not None]
        result.notes[task_name] = _notes(config, kadg_config)
    if not result.specs:
        raise PresetError(f"{directory}: no config of a known task (expected e.g. jnli.json, marcja*.json)")
    return result


def _load_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PresetError(f"{path}: not UTF-8 ({exc})") from None
    except json.JSONDecodeError as exc:
        raise PresetError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: a config must be a JSON object")
    return raw


def _text(path: Path, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PresetError(f"{path}: key {key!r} must be a non-empty text")
    return value


def _config(path: Path, raw: dict[str, Any], task: Task) -> _Config:
    kadg = path.stem.endswith("*")
    if path.stem.rstrip("*") != raw["task_name"]:
        raise PresetError(f"{path}: key 'task_name' is {raw['task_name']!r}, but the file name says {path.stem!r}")
    content = _text(path, raw, "content")
    first = _text(path, raw, "first instruction") if "first instruction" in raw else None
    if task.is_pair and first is None:
        raise PresetError(f"{path}: pair task {task.name} needs key 'first instruction'")
    if not task.is_pair and first is not None:
        raise PresetError(f"{path}: key 'first instruction' is only for pair tasks; {task.name} is single-text")
    labels = _labels(path, raw.get("labels"), task)
    lists = {k: v for k, v in raw.items() if k not in _KEYS}
    for key, value in lists.items():
        if not (isinstance(value, list) and value and all(isinstance(w, str) and w.strip() for w in value)):
            raise PresetError(f"{path}: key {key!r} is not one of {sorted(_KEYS)} nor a list of words")
    if len(lists) > 1:
        raise PresetError(f"{path}: keys {sorted(lists)}: one word list per config")
    word_key, words = next(iter(lists.items()), (None, None))
    if word_key is not None:
        if not kadg:
            raise PresetError(f"{path}: key {word_key!r}: a word list belongs in the KADG config <task>*.json")
        texts = [content, first or "", *labels.values()]
        if not any(f'"{word_key}"' in text for text in texts):
            raise PresetError(f'{path}: key {word_key!r}: "{word_key}" appears in no text (content, instructions)')
        dupes = sorted({w for w in words if words.count(w) > 1})
        if dupes:
            raise PresetError(f"{path}: key {word_key!r}: duplicate word(s) {dupes}")
    return _Config(path, task, kadg, content, first, labels, word_key, tuple(words) if words else None)


def _labels(path: Path, raw: Any, task: Task) -> dict[str, str]:
    """The authors number labels 0.. in the order japagen's task lists them (both follow the datasets)."""
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: key 'labels' must map 0, 1, ... to {{'instruction': ...}}")
    expected = [str(i) for i in range(len(task.labels))]
    if sorted(raw, key=lambda k: (len(k), k)) != expected:
        raise PresetError(f"{path}: key 'labels' has {sorted(raw)}; {task.name} needs exactly {expected}")
    labels = {}
    for key, label in zip(expected, task.labels, strict=True):
        item = raw[key]
        if not isinstance(item, dict) or set(item) != {"instruction"}:
            raise PresetError(f"{path}: key 'labels.{key}' must be {{'instruction': text}}")
        labels[label.name] = _text(path, item, "instruction")
    return labels


def _template(text: str, word_key: str | None) -> str:
    """The authors' text as a strict template: braces doubled, the quoted key becomes ``"{word}"``."""
    text = text.replace("{", "{{").replace("}", "}}")
    return text.replace(f'"{word_key}"', '"{word}"') if word_key else text


def _spec(config: _Config, kadg: _Config | None, prompts_dir: Path) -> str:
    try:
        own = load_spec(prompts_dir, config.task)
        fewshot, annotate, borrowed = own.fewshot, own.annotate, f"{own.path.name} (version {own.version})"
    except PromptError:
        fewshot, annotate, borrowed = _FALLBACK_FEWSHOT, _FALLBACK_ANNOTATE, "none"
    spec: dict[str, Any] = {"system": _template(config.content, None)}
    if config.first is not None:
        spec["first_instruction"] = _template(config.first, None)
    spec["labels"] = {name: _template(text, None) for name, text in config.labels.items()}
    spec["fewshot"] = fewshot
    spec["annotate"] = annotate
    if kadg is not None:
        if kadg.first != config.first:  # (the authors' are the same; a spec has one first instruction)
            raise PresetError(f"{kadg.path}: key 'first instruction' differs from {config.path.name}'s")
        spec["kadg"] = {
            "system": _template(kadg.content, kadg.word_key),
            "labels": {name: _template(text, kadg.word_key) for name, text in kadg.labels.items()},
        }
        if kadg.words:
            spec["kadg"]["word_list"] = list(kadg.words)
    header = (
        f"# The paper preset of {config.task.name}: the JAPAGEN authors' configs "
        f"({', '.join(c.path.name for c in (config, kadg) if c)}), unchanged.\n"
        f"# fewshot and annotate: japagen's ({borrowed}); the authors' configs have none.\n"
    )
    return header + yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=10_000)


def _notes(config: _Config, kadg: _Config | None) -> list[str]:
    mapping = ", ".join(f"{i}→{name}" for i, name in enumerate(config.labels))
    notes = [f"labels {mapping}"]
    if kadg is None:
        notes.append("no KADG config")
    elif kadg.word_key:
        notes.append(f'KADG: {len(kadg.words or ())} words under "{kadg.word_key}"')
    else:
        notes.append("KADG: its own instructions, no word list")
    return notes


# -- the store --------------------------------------------------------------------------------------


def import_official(project: Project, directory: Path) -> OfficialImport:
    """Read a folder of the authors' configs and store a ``paper`` preset for each task (replacing one)."""
    project.require_writable("importing prompt presets")
    result = read_official(directory, project.registry, project.settings.prompts_dir)
    rows = []
    for task_name, text in result.specs.items():
        spec = parse_spec(text.encode("utf-8"), project.registry[task_name], _store_path(task_name), preset=PAPER)
        source = f"{directory.resolve()}: {', '.join(result.sources[task_name])}"
        rows.append((PAPER, task_name, text, spec.version, source, datetime.now(UTC).replace(tzinfo=None)))
    with project.db.transaction() as con:
        for row in rows:
            con.execute("DELETE FROM prompt_presets WHERE preset = ? AND task = ?", [row[0], row[1]])
            con.execute("INSERT INTO prompt_presets VALUES (?, ?, ?, ?, ?, ?)", list(row))
    return result


def _store_path(task_name: str) -> Path:
    return Path(f"store:prompt_presets/{PAPER}/{task_name}.yaml")


def preset_tasks(project: Project, preset: str = PAPER) -> dict[str, dict[str, Any]]:
    """Tasks that have a stored preset: task -> sha, source and import time."""
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT task, sha, source, imported_at FROM prompt_presets WHERE preset = ? ORDER BY task", [preset]
        ).fetchall()
    return {task: {"sha": sha, "source": source, "imported_at": at} for task, sha, source, at in rows}


def load_preset_spec(project: Project, task: Task, preset: str = "japagen") -> PromptSpec:
    """The prompt spec a run uses: japagen's file, or the imported paper preset from the store."""
    if preset not in PRESETS:
        raise PresetError(f"preset {preset!r} must be one of {list(PRESETS)}")
    if preset == "japagen":
        return load_spec(project.settings.prompts_dir, task)
    with project.db.transaction() as con:
        rows = con.execute(
            "SELECT spec FROM prompt_presets WHERE preset = ? AND task = ?", [preset, task.name]
        ).fetchall()
    if not rows:
        raise PresetError(
            f"no {preset} preset for task {task.name}: import the authors' configs with "
            "`python -m japagen_core prompts import-official DIR` (or on the Generate page)"
        )
    return parse_spec(rows[0][0].encode("utf-8"), task, _store_path(task.name), preset=preset)


def kadg_words(project: Project, spec: PromptSpec) -> ListVersion | None:
    """The words a KADG run draws from: the spec's own list (paper preset), the named list, or none."""
    if spec.kadg_word_list:
        words = spec.kadg_word_list
        return ListVersion(f"{spec.preset}:{spec.task}", 0, words, words_sha(words), author=spec.preset)
    if spec.kadg_words:
        return current_words(project, spec.kadg_words)  # the edited list when there is one, else the file
    return None
