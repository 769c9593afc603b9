"""Integration: the propositions of ``reports/propositions.yml`` and their joint display.

A proposition names the quantitative constructs (``instrument.score``) and the
qualitative themes (ids in themes.yml) that speak to it, the researchers' judgement of
how the two strands fit (confirmation, expansion or discordance; Fetters, Curry &
Creswell 2013) and the meta-inference drawn from them. The joint display (Gillard et al.
2022, Table 5, with a fit column) sets beside it a quantitative finding built from the
computed numbers and a qualitative finding built from the theme and its coded segments:
the researchers write the judgement, never a number.

The same list parser reads ``reports/checklists.yml`` (``studykit.analysis.checklists``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studykit._yaml import YAMLTooLargeError, load_yaml

Fit = Literal["confirmation", "expansion", "discordance"]
FITS: tuple[str, ...] = ("confirmation", "expansion", "discordance")
Model = TypeVar("Model", bound=BaseModel)


class Proposition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    statement: Annotated[str, Field(min_length=1)]
    constructs: list[str] = []
    themes: list[str] = []
    fit: Fit | None = None
    meta_inference: str = ""


@dataclass(frozen=True)
class InputProblem:
    """Something wrong in a report input file: where (YAML line, key) and what."""

    path: Path
    message: str
    line: int | None = None
    key: str | None = None
    value: object = None


def parse_list(
    path: Path, model: type[Model], what: str, keys: str
) -> tuple[list[Model], list[InputProblem]]:
    """A YAML list of ``model`` entries with distinct ids; each problem with its line. Missing file: []."""
    if not path.is_file():
        return [], []
    text = path.read_text(encoding="utf-8")
    try:
        data = load_yaml(text)
        nodes = yaml.compose(text)
    except (yaml.YAMLError, YAMLTooLargeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or exc
        return [], [InputProblem(path, f"is not valid YAML ({reason})", mark.line + 1 if mark else None)]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [InputProblem(path, f"must be a list of {what}s (each starting with '- id:')", 1)]
    lines = [n.start_mark.line + 1 for n in nodes.value] if isinstance(nodes, yaml.SequenceNode) else []
    found: list[Model] = []
    problems: list[InputProblem] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else None
        try:
            entry = model.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                key = ".".join(str(p) for p in error["loc"]) or f"({what})"
                said = "is missing" if error["type"] == "missing" else error["msg"].lower()
                if error["type"] == "extra_forbidden":
                    said = f"is not a {what} key ({keys})"
                given = error.get("input")
                shown = given if isinstance(given, str | int | float) and error["type"] != "missing" else None
                problems.append(InputProblem(path, f"{what} {index + 1}: {key} {said}", line, key, shown))
            continue
        ident = entry.id  # type: ignore[attr-defined]
        if ident in seen:
            problems.append(InputProblem(path, f"{what} id {ident!r} is used twice", line, "id", ident))
            continue
        seen.add(ident)
        found.append(entry)
    return found, problems


def entry_lines(path: Path) -> dict[tuple[str, ...], int]:
    """Where a report input file's entries are written: ``(id,)`` -> the entry's first line, and
    ``(id, key, value)`` -> the line of each value listed under a key (or written as its value),
    for findings to point at. An unreadable file gives {} (its problem is reported elsewhere)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    found: dict[tuple[str, ...], int] = {}
    for entry in root.value if isinstance(root, yaml.SequenceNode) else []:
        if not isinstance(entry, yaml.MappingNode):
            continue
        pairs = {k.value: v for k, v in entry.value if isinstance(k, yaml.ScalarNode)}
        ident = pairs.get("id")
        if not isinstance(ident, yaml.ScalarNode):
            continue
        found[(ident.value,)] = entry.start_mark.line + 1
        for key, node in pairs.items():
            values = node.value if isinstance(node, yaml.SequenceNode) else [node]
            for value in values:
                if isinstance(value, yaml.ScalarNode):
                    found.setdefault((ident.value, key, value.value), value.start_mark.line + 1)
    return found


def parse_propositions(path: Path) -> tuple[list[Proposition], list[InputProblem]]:
    """``reports/propositions.yml``: the propositions and any problems (a missing file is none)."""
    return parse_list(
        path, Proposition, "proposition", "id, statement, constructs, themes, fit, meta_inference"
    )


@dataclass(frozen=True)
class JointRow:
    proposition: str
    statement: str
    quantitative: str
    qualitative: str
    fit: str
    meta_inference: str


def joint_display(
    propositions: Sequence[Proposition],
    quantitative: Callable[[str], str],
    qualitative: Callable[[str], str],
) -> list[JointRow]:
    """One row per proposition: its statement, the findings of its constructs and themes, fit, meta-inference.

    ``quantitative(construct)`` and ``qualitative(theme)`` give one sentence each from the
    computed results.
    """
    rows = []
    for p in propositions:
        quant = " ".join(quantitative(c) for c in p.constructs) or "No construct linked."
        qual = " ".join(qualitative(t) for t in p.themes) or "No theme linked."
        rows.append(
            JointRow(
                p.id,
                p.statement,
                quant,
                qual,
                p.fit or "(not yet judged)",
                p.meta_inference or "(not yet written)",
            )
        )
    return rows
