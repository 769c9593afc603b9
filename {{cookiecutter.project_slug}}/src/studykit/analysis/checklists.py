"""Reporting checklists: COREQ (32 items) and GRAMMS (6 items) from ``reports/checklists.yml``.

Each item has its checklist, number, title, and where the report answers it (a page and
section, a table or figure id such as ``@tbl-themes``), or why it does not apply. An item
with neither is unanswered: validation warns (REP005) and the checklist table says so.
Item titles: Tong, Sainsbury & Craig 2007 (COREQ), O'Cathain, Murphy & Nicholl 2008 (GRAMMS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from studykit.analysis.integration import InputProblem, parse_list

Checklist = Literal["COREQ", "GRAMMS"]
ITEMS: dict[str, int] = {"COREQ": 32, "GRAMMS": 6}


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^(COREQ|GRAMMS)-[0-9]+$")]
    text: Annotated[str, Field(min_length=1)]
    answered_in: str | None = None
    not_applicable: str | None = None

    @property
    def checklist(self) -> str:
        return self.id.split("-")[0]

    @property
    def number(self) -> int:
        return int(self.id.split("-")[1])

    @property
    def answered(self) -> bool:
        return bool((self.answered_in or "").strip() or (self.not_applicable or "").strip())

    @property
    def answer(self) -> str:
        if (self.answered_in or "").strip():
            return self.answered_in.strip()  # type: ignore[union-attr]
        if (self.not_applicable or "").strip():
            return f"Not applicable: {self.not_applicable.strip()}"  # type: ignore[union-attr]
        return "Not yet answered"


def parse_checklists(path: Path) -> tuple[list[ChecklistItem], list[InputProblem]]:
    """``reports/checklists.yml``: the items and any problems (a missing file is none)."""
    return parse_list(path, ChecklistItem, "checklist item", "id, text, answered_in, not_applicable")


def missing_items(items: list[ChecklistItem]) -> list[str]:
    """Item ids of COREQ 1-32 and GRAMMS 1-6 that the file does not list (when it lists that checklist)."""
    listed = {i.id for i in items}
    used = {i.checklist for i in items}
    return [
        f"{c}-{n}"
        for c, total in ITEMS.items()
        if c in used
        for n in range(1, total + 1)
        if f"{c}-{n}" not in listed
    ]
