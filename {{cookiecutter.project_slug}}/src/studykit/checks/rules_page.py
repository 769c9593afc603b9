"""The rule reference page (docs/rules.md), generated from the ``RULES`` registry.

``python -m studykit.checks.rules_page > docs/rules.md`` regenerates it; a test fails
when the committed page differs, so the page never drifts from the code.
"""

from __future__ import annotations

import sys

from studykit.checks import load_rules
from studykit.checks.findings import HOMES, LAYERS

INTRO = """\
# Validation rules

Every finding of `studykit validate` carries one of these codes. Generated from the
rule registry (`python -m studykit.checks.rules_page > docs/rules.md`); do not edit by
hand. How validation works, the JSON report and the exit codes: [validation.md](validation.md).
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _link(module: str) -> str:
    path = module.replace(".", "/") + (".py" if module != "studykit.checks" else "/__init__.py")
    return f"[`{path.removeprefix('studykit/')}`](../src/{path})"


def rules_markdown() -> str:
    """The whole page: one table per layer, rules in code order, each linked to its module."""
    rules = load_rules()
    homes = HOMES
    parts = [INTRO]
    for layer in LAYERS:
        mine = sorted((r for r in rules.values() if r.layer == layer), key=lambda r: r.code)
        if not mine:
            continue
        parts.append(
            f"\n## {layer}\n\n| code | severity | rule | what it means | what to do | defined in |\n"
            "|---|---|---|---|---|---|\n"
        )
        for rule in mine:
            parts.append(
                f"| {rule.code} | {rule.severity} | {_cell(rule.title)} | {_cell(rule.explanation)} | "
                f"{_cell(rule.fix)} | {_link(homes[rule.code]) if rule.code in homes else ''} |\n"
            )
    return "".join(parts)


if __name__ == "__main__":
    sys.stdout.write(rules_markdown())
