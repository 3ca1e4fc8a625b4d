"""Fast start: the listing commands, the pages and the job kinds' registry load none of the heavy libraries
(they load in the job that needs them), measured in fresh processes."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from japagen_core.settings import PROJECT_ROOT

HEAVY = ("torch", "transformers", "sklearn", "cleanlab", "openai")


def _env(home) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "JAPAGEN_HOME": str(home)}


@pytest.mark.parametrize("command", [["tasks"], ["datasets"], ["jobs", "--json"]])
def test_listing_commands_import_no_heavy_library(command, home):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "japagen_core", *command], cwd=PROJECT_ROOT,
                          env=_env(home), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert len(imported) > 100  # the measurement itself works
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert not heavy, f"`{' '.join(command)}` imported {heavy[:10]}"


def _page_imports() -> list[str]:
    """The modules the pages and app/ import at their top level (what loads when a page opens)."""
    modules = set()
    for path in [*sorted((PROJECT_ROOT / "pages").glob("*.py")), *sorted((PROJECT_ROOT / "app").glob("*.py"))]:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return sorted(modules)


def test_cli_pages_and_every_job_kind_import_no_heavy_library(home):
    modules = _page_imports()
    assert "japagen_core.jobs" in modules and "app.components" in modules
    script = (
        "import importlib, sys\n"
        "import japagen_core.cli\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "from japagen_core.jobs import kinds\n"
        "for name in kinds.KINDS:\n"
        "    kinds.get_kind(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=_env(home), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout
