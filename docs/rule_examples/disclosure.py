"""Breaks for the disclosure layer's rules (DIS).

Every identifier typed in is invented and marked as such: example.org e-mail and web addresses,
a phone number from Ofcom's range kept for drama (07700 900xxx), an NHS number from the 999
test range, a postcode in a district that does not exist (ZE99).
"""

from __future__ import annotations

from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import append, replace, set_cell, table, write, write_table

TRANSCRIPTS = "data/qualitative/transcripts"
PARTICIPANTS = "data/participants.csv"
WEMWBS = "data/measures/wemwbs.csv"
NO_KEY = "identity_key: null"


def _said_after_recording(study: Path, transcript: str, turn: str) -> None:
    """Add a participant's turn at the end of a transcript (after the interviewer stops recording)."""
    append(study, f"{TRANSCRIPTS}/{transcript}.md", f"\n{turn}")


@breaks("DIS001")
def email(study: Path) -> None:
    """P011's e-mail address, given at the end of the T2 interview, left in INT-P011-T2.md."""
    _said_after_recording(study, "INT-P011-T2", "**P011:** Send me the summary at peer.worker@example.org.")


@breaks("DIS002")
def phone(study: Path) -> None:
    """P005's mobile number, given at the end of the T1 interview, left in INT-P005-T1.md."""
    _said_after_recording(study, "INT-P005-T1", "**P005:** If you need me, ring me on 07700 900461.")


@breaks("DIS003")
def postcode(study: Path) -> None:
    """P008's home postcode, given for a voucher at the end of the T1 interview, left in INT-P008-T1.md."""
    _said_after_recording(
        study, "INT-P008-T1", "**P008:** The voucher can go to my home, the postcode is ZE99 9ZZ."
    )


@breaks("DIS004")
def nhs_number(study: Path) -> None:
    """P012's NHS number, read out from a letter in the T2 interview, left in INT-P012-T2.md."""
    _said_after_recording(study, "INT-P012-T2", "**P012:** The letter had my NHS number on it, 999 123 4578.")


@breaks("DIS005")
def date_of_birth(study: Path) -> None:
    """P012's month and year of birth, mentioned at the end of the T1 interview, left in INT-P012-T1.md."""
    _said_after_recording(
        study, "INT-P012-T1", "**P012:** I was born in March 1974, so I came to this work late."
    )


@breaks("DIS006")
def profile_url(study: Path) -> None:
    """The address of P011's personal web page, given after the T3 interview, left in INT-P011-T3.md."""
    _said_after_recording(
        study, "INT-P011-T3", "**P011:** I write about peer work on www.example.org/~peerworker."
    )


@breaks("DIS007")
def name(study: Path) -> None:
    """P008's real name (from the identity key kept next to the study folder) left in INT-P008-T2.md."""
    (study.parent / "identity-key.csv").write_text(
        "participant_id,name\nP008,Synthetic Name\n", encoding="utf-8"
    )
    replace(study, "study.yml", NO_KEY, "identity_key: ../identity-key.csv")
    _said_after_recording(
        study, "INT-P008-T2", "**P008:** You can use my real name, Synthetic Name, in the report."
    )


@breaks("DIS010")
def key_missing(study: Path) -> None:
    """study.yml names an identity key on a secure drive that is not mounted where validate runs."""
    replace(study, "study.yml", NO_KEY, "identity_key: /mnt/secure/example-study/identity-key.csv")


@breaks("DIS011")
def key_inside(study: Path) -> None:
    """The identity key saved inside the study as governance/identity-key.csv and named in study.yml."""
    write(study, "governance/identity-key.csv", "participant_id,name\nP008,Synthetic Name\n")
    replace(study, "study.yml", NO_KEY, "identity_key: governance/identity-key.csv")


@breaks("DIS020")
def duplicate_id(study: Path) -> None:
    """P023's participant id typed as P022 in data/participants.csv."""
    replace(study, PARTICIPANTS, "P023,peer worker", "P022,peer worker")


@breaks("DIS021")
def odd_characters(study: Path) -> None:
    """A doubled space typed between two words of P007's role in data/participants.csv."""
    set_cell(study, PARTICIPANTS, 8, "role", "peer support  worker")


@breaks("DIS022")
def many_missing(study: Path) -> None:
    """WEMWBS item 14 left out of the T3 survey, so blank on every T3 row of data/measures/wemwbs.csv."""
    rows = table(study, WEMWBS)
    item, wave = rows[0].index("item_14"), rows[0].index("wave")
    for row in rows:
        if row[wave] == "T3":
            row[item] = ""
    write_table(study, WEMWBS, rows)


@breaks("DIS023")
def small_cell(study: Path) -> None:
    """P010's gender, left blank, recorded as "non-binary", the only one in data/participants.csv."""
    set_cell(study, PARTICIPANTS, 11, "gender", "non-binary")


@breaks("DIS024")
def rare_combination(study: Path) -> None:
    """P019's site typed as S2 instead of S4 in data/participants.csv, where the others at S2 are women."""
    set_cell(study, PARTICIPANTS, 20, "site", "S2")
