"""An example finding for every rule code, from real runs: ``python -m docs.rule_examples``.

Each rule code has a *break*: a function that changes a freshly baked example study in one
way a research team might (a misspelt id, a file saved from Excel, a quote from a withdrawn
participant); its docstring says what it changed. ``capture`` copies the study once per
break, applies it, runs ``studykit validate`` on the copy and keeps the first finding with
that code. The findings go to ``docs/_snippets/rule-examples.json``, from which
``docs/generate.py`` writes the rule catalogue (the study's ``docs/rules.md``).
``tests/test_docs.py`` runs every break again and fails when a rule has no break or a
finding differs from the one the catalogue shows, so an example is never typed by hand.

The breaks live in one module per family of codes (``structure.py`` for STR, ``qualitative.py``
for QUAL, ``governance.py`` for GOV, ...).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import inspect
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SNIPPET = Path(__file__).resolve().parents[1] / "_snippets" / "rule-examples.json"
# The day validation takes for today: the tutorial's build date (SOURCE_DATE_EPOCH in docs/console.py).
TODAY = dt.date(2026, 1, 1)
MODULES = ("structure", "qualitative", "reports", "measures", "governance", "access", "involvement",
           "disclosure", "integrity")  # fmt: skip  (one per family of codes: STR, QUAL, REP, ...)
# What the catalogue shows of a finding (code, severity and rule are the section's own).
SHOWN = ("file", "row", "column", "value", "message", "fix")

Change = Callable[[Path], object]


@dataclass(frozen=True)
class Break:
    """One way to break the example study so that validation reports ``code``.

    ``change(study)`` edits the study's files. It may return a context manager, entered around
    the validation run, for the one rule no file can trigger (an internal error, STR000).
    """

    code: str
    change: Change

    @property
    def description(self) -> str:
        return " ".join((inspect.getdoc(self.change) or "").split())


BREAKS: dict[str, Break] = {}


def breaks(code: str) -> Callable[[Change], Change]:
    """Register ``change`` as the break that shows rule ``code``; one break per code."""

    def register(change: Change) -> Change:
        if code in BREAKS:
            msg = f"{code} has two breaks: {BREAKS[code].change.__name__} and {change.__name__}"
            raise ValueError(msg)
        if not inspect.getdoc(change):
            msg = f"the break {change.__name__} needs a docstring saying what it changes"
            raise ValueError(msg)
        BREAKS[code] = Break(code, change)
        return change

    return register


def load_breaks() -> dict[str, Break]:
    """Every break, from every layer's module."""
    for name in MODULES:
        importlib.import_module(f"docs.rule_examples.{name}")
    return BREAKS


def finding_for(brk: Break, example: Path, work: Path) -> dict[str, Any]:
    """Apply ``brk`` to a copy of the example study and return the first finding of its code."""
    from studykit.checks import validate
    from studykit.study import load_study

    study = work / brk.code
    shutil.copytree(example, study, symlinks=True)
    patch = brk.change(study)
    with patch if isinstance(patch, contextlib.AbstractContextManager) else contextlib.nullcontext():
        report = validate(load_study(study), today=TODAY)
    found = [f for f in report.findings if f.code == brk.code]
    if not found:
        codes = sorted({f.code for f in report.findings})
        msg = f"{brk.code}: the break {brk.change.__name__} gave no {brk.code} finding (found {codes})"
        raise AssertionError(msg)
    finding = found[0].__dict__
    if any(str(work) in str(value) or str(example) in str(value) for value in finding.values()):
        msg = f"{brk.code}: the finding names a temporary folder, so the catalogue would change per run"
        raise AssertionError(msg)
    return {"change": brk.description} | {key: finding[key] for key in SHOWN if finding[key] is not None}


def capture(example: Path, work: Path, codes: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Code -> its example finding, for ``codes`` (default: every break), in code order."""
    found = load_breaks()
    return {code: finding_for(found[code], example, work) for code in sorted(codes or found)}


def recorded() -> dict[str, dict[str, Any]]:
    """The examples the catalogue shows (docs/_snippets/rule-examples.json)."""
    return json.loads(SNIPPET.read_text(encoding="utf-8")) if SNIPPET.is_file() else {}


def dumps(examples: dict[str, dict[str, Any]]) -> str:
    return json.dumps(examples, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@contextlib.contextmanager
def baked() -> Iterator[tuple[Path, Path]]:
    """A freshly baked example study and a folder for its broken copies."""
    import tempfile

    from docs.console import bake_example

    with tempfile.TemporaryDirectory() as tmp:
        yield bake_example(Path(tmp) / "baked"), Path(tmp) / "broken"
