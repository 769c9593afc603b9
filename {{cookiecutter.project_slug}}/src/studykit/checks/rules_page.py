"""The rule catalogue (docs/rules.md), generated from the ``RULES`` registry.

The template's ``python -m docs.generate`` writes it, with an example finding for each
rule captured from a real validation run (the template's ``docs/rule_examples``); a test
there fails when the committed page differs, so the page never drifts from the code.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from studykit.checks import load_rules
from studykit.checks.findings import HOMES, LAYERS, Rule

WIDTH = 88  # the example blocks' line width
INTRO = """\
# Validation rules

Every finding of `studykit validate` carries one of these codes. How validation works, the
JSON report and the exit codes: [validation.md](validation.md).

Each rule shows an example: what `studykit validate` reported when the synthetic example
study was changed in the one way described. The examples are captured from real runs when
the template is built (its `docs/rule_examples`), never typed, and this page is generated
from the rule registry, so neither can drift from the code; do not edit it by hand.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _link(module: str) -> str:
    path = module.replace(".", "/") + (".py" if module != "studykit.checks" else "/__init__.py")
    return f"[`{path.removeprefix('studykit/')}`](../src/{path})"


def _example(rule: Rule, example: Mapping[str, Any]) -> str:
    where = ", ".join(
        part
        for part in (
            example.get("file"),
            f"row {example['row']}" if "row" in example else "",
            f"column {example['column']}" if "column" in example else "",
            f"value {example['value']!r}" if "value" in example else "",
        )
        if part
    )
    lines = [where, f"{rule.code} {rule.severity}: {example['message']}"]
    if example.get("fix") and example["fix"] != rule.fix:
        lines.append(f"What to do: {example['fix']}")
    # Wrapped as a terminal would show it, so that the block reads without scrolling sideways.
    shown = "\n".join(
        textwrap.fill(line, WIDTH, subsequent_indent="  ", break_on_hyphens=False) for line in lines
    )
    return f"**Example.** {example['change']} `studykit validate` reports:\n\n```text\n{shown}\n```\n"


def _section(rule: Rule, example: Mapping[str, Any] | None) -> str:
    home = f" · defined in {_link(HOMES[rule.code])}" if rule.code in HOMES else ""
    explanation, fix = " ".join(rule.explanation.split()), " ".join(rule.fix.split())
    parts = [
        f"\n### {rule.code}\n\n**{_cell(rule.title)}** · {rule.severity}{home}\n\n{explanation}\n",
        f"\nWhat to do: {fix}\n",
    ]
    if rule.requires:
        first = " or ".join(rule.requires)
        parts.append(f"\nNot checked on a row where {first} already failed (listed under `not_checked`).\n")
    if example:
        parts.append("\n" + _example(rule, example))
    return "".join(parts)


def rules_markdown(examples: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The whole page: per layer, a summary table, then each rule in code order with its example."""
    rules = load_rules()
    examples = examples or {}
    parts = [INTRO]
    for layer in LAYERS:
        mine = sorted((r for r in rules.values() if r.layer == layer), key=lambda r: r.code)
        if not mine:
            continue
        parts.append(f"\n## {layer}\n\n| code | severity | rule |\n|---|---|---|\n")
        parts.extend(f"| [{r.code}](#{r.code.lower()}) | {r.severity} | {_cell(r.title)} |\n" for r in mine)
        parts.extend(_section(rule, examples.get(rule.code)) for rule in mine)
    return "".join(parts)
