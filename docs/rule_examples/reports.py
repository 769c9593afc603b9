"""Breaks for the reports layer's rules (REP)."""

from __future__ import annotations

from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import append, replace, text, write

PROPOSITIONS = "reports/propositions.yml"
CHECKLISTS = "reports/checklists.yml"


@breaks("REP001")
def construct_dropped(study: Path) -> None:
    """The construct cbi.client taken out of proposition PR6 in reports/propositions.yml."""
    replace(study, PROPOSITIONS, "  - cbi.client\n", "")


@breaks("REP002")
def new_theme_unlinked(study: Path) -> None:
    """A new theme, peer_identity, added to themes.yml but to no proposition."""
    theme = "- id: peer_identity\n  name: Being a peer and a worker\n  codes:\n  - lived_experience\n"
    append(study, "data/qualitative/themes.yml", theme)


@breaks("REP003")
def code_for_theme(study: Path) -> None:
    """Proposition PR4 names the code role_ambiguity where it means the theme role_clarity."""
    replace(study, PROPOSITIONS, "  - role_clarity\n", "  - role_ambiguity\n")


@breaks("REP004")
def fit_outside_vocabulary(study: Path) -> None:
    """Proposition PR3's fit written as "complementarity" instead of expansion in reports/propositions.yml."""
    replace(study, PROPOSITIONS, "fit: expansion", "fit: complementarity")


@breaks("REP005")
def item_left_blank(study: Path) -> None:
    """COREQ-8 (interviewer characteristics) left with an empty answered_in in reports/checklists.yml."""
    replace(study, CHECKLISTS, 'answered_in: "qualitative.qmd, Reflexivity"', 'answered_in: ""')


@breaks("REP006")
def item_left_out(study: Path) -> None:
    """GRAMMS-6, the last item, deleted from reports/checklists.yml."""
    content = text(study, CHECKLISTS)
    write(study, CHECKLISTS, content[: content.index("- id: GRAMMS-6\n")])
