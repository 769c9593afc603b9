"""Breaks for the access layer's rules (ACC)."""

from __future__ import annotations

import json
from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import replace, text, write

DESCRIPTOR = "datapackage.json"


def set_access(study: Path, resource: str, key: str, value: str) -> None:
    """Set one key of a resource's access in datapackage.json, as a hand edit would."""
    descriptor = json.loads(text(study, DESCRIPTOR))
    found = [r for r in descriptor["resources"] if r["name"] == resource]
    if not found or key not in found[0]["access"]:
        msg = f"{DESCRIPTOR} has no access.{key} for the resource {resource!r}"
        raise AssertionError(msg)
    found[0]["access"][key] = value
    write(study, DESCRIPTOR, json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n")


@breaks("ACC001")
def no_tier(study: Path) -> None:
    """The employment resource's access tier typed as "safe-guarded" by hand in datapackage.json."""
    set_access(study, "employment", "tier", "safe-guarded")


@breaks("ACC002")
def identifiable_shipped(study: Path) -> None:
    """study.yml's archive section puts the transcripts, which are identifiable, in the safeguarded tier."""
    override = "  resources:\n    transcripts: {tier: safeguarded}\n"
    replace(study, "study.yml", "  access: safeguarded", override + "  access: safeguarded")


@breaks("ACC003")
def bad_access(study: Path) -> None:
    """The employment resource's personal_data set to "anonymised" by hand in datapackage.json."""
    set_access(study, "employment", "personal_data", "anonymised")
