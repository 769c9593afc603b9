"""Breaks for the involvement layer's rules (INV)."""

from __future__ import annotations

import json
from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import replace, text, write

LOG = "governance/involvement.yml"


@breaks("INV001")
def nature_outside_vocabulary(study: Path) -> None:
    """Activity A01's nature typed "coproduction" (without its hyphen) in governance/involvement.yml."""
    replace(study, LOG, "nature: co-production", "nature: coproduction")


@breaks("INV002")
def contributor_not_added(study: Path) -> None:
    """A new advisory group member, C08, named among activity A07's contributors but not added to the log."""
    replace(study, LOG, "who: [C01, C04, C05, C06]", "who: [C01, C04, C05, C06, C08]")


@breaks("INV003")
def name_without_agreement(study: Path) -> None:
    """A name written for contributor C03, who did not agree to be named."""
    c03 = "  - id: C03\n    role: peer researcher\n    agreed_to_be_named: false\n"
    replace(study, LOG, c03, c03 + "    name: Synthetic Name\n")


@breaks("INV004")
def influence_left_empty(study: Path) -> None:
    """The influence statement of governance/involvement.yml left empty, to be written later."""
    content = text(study, LOG)
    start, end = content.index("influence: >-"), content.index("\ncontributors:")
    write(study, LOG, content[:start] + "influence:\n" + content[end:])


@breaks("INV005")
def only_positive_impacts(study: Path) -> None:
    """The negative and the mixed impact of governance/involvement.yml both recorded as positive."""
    replace(study, LOG, "valence: negative", "valence: positive")
    replace(study, LOG, "valence: mixed", "valence: positive")


@breaks("INV006")
def standard_left_out(study: Path) -> None:
    """The Governance standard left out of the UK Standards self-assessment in governance/involvement.yml."""
    content = text(study, LOG)
    start = content.index("  governance:\n    status:")
    write(study, LOG, content[:start] + content[content.index("\n", content.index("notes:", start)) + 1 :])


@breaks("INV007")
def participant_id_as_contributor(study: Path) -> None:
    """Contributor C02, a peer researcher who also took part in the study as P008, logged as P008."""
    replace(study, LOG, "C02", "P008", count=-1)


@breaks("INV008")
def audited_activity_deleted(study: Path) -> None:
    """Activity A09, added with studykit involvement add (so audited), deleted from the log by hand."""
    summary = "The advisory group reviewed the plain-language findings."
    record = {"id": "A09", "date": "2025-06-30", "stage": "dissemination", "nature": "collaboration",
              "who": ["C04", "C05"], "summary": summary}  # fmt: skip
    entry = {"at": "2025-06-30T14:05:00Z", "by": "SR1", "action": "involvement add", "register": LOG,
             "participant_id": "", "record": record, "previous": None}  # fmt: skip
    write(study, "governance/audit.log", json.dumps(entry) + "\n")
