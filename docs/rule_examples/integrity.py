"""Breaks for the integrity layer's rules (INT)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import replace, set_cell, text, write

MANIFEST = "governance/manifest.sha256"
PARTICIPANTS = "data/participants.csv"


def accept(study: Path) -> None:
    """Record the data files' checksums as `studykit validate --accept` does.

    Its refusal while validation finds errors is left out: that validation would judge the
    calendar rules against the real today.
    """
    from studykit.checks.integrity import checksums, manifest_text
    from studykit.study import load_study

    write(study, MANIFEST, manifest_text(checksums(load_study(study))))


@breaks("INT001")
def changed(study: Path) -> None:
    """P004's missing age filled in (data/participants.csv) after the data were accepted."""
    accept(study)
    set_cell(study, PARTICIPANTS, 5, "age", "44")


@breaks("INT002")
def added(study: Path) -> None:
    """A copy of data/participants.csv saved beside it as "participants (copy).csv" after the data were
    accepted."""
    accept(study)
    write(study, "data/participants (copy).csv", text(study, PARTICIPANTS))


@breaks("INT003")
def removed(study: Path) -> None:
    """The event notes data/qualitative/transcripts/EVENT-1.md deleted after the data were accepted."""
    accept(study)
    (study / "data/qualitative/transcripts/EVENT-1.md").unlink()


@breaks("INT004")
def no_manifest(study: Path) -> None:
    """Nothing: as in a new study, no checksums have been accepted yet (no governance/manifest.sha256)."""
    (study / MANIFEST).unlink(missing_ok=True)


@breaks("INT005")
def bad_manifest(study: Path) -> None:
    """Two git branches that each accepted a different data/participants.csv merged, leaving conflict
    markers in governance/manifest.sha256."""
    accept(study)
    ours = next(line for line in text(study, MANIFEST).splitlines() if line.endswith(f"  {PARTICIPANTS}"))
    theirs = f"{hashlib.sha256(b'another participants.csv').hexdigest()}  {PARTICIPANTS}"
    replace(study, MANIFEST, ours, f"<<<<<<< HEAD\n{ours}\n=======\n{theirs}\n>>>>>>> main")


@breaks("INT006")
def link_outside(study: Path) -> None:
    """data/audio added as a link to the interview recordings' folder on a shared drive
    (/mnt/shared/peer-study/audio)."""
    (study / "data/audio").symlink_to("/mnt/shared/peer-study/audio", target_is_directory=True)
