"""Breaks for the governance layer's rules (GOV)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import append, replace, set_cell, text, write

CONSENT = "governance/consent.csv"
WITHDRAWALS = "governance/withdrawals.csv"
ETHICS = "governance/ethics.yml"
PARTICIPANTS = "data/participants.csv"
WEMWBS = "data/measures/wemwbs.csv"
P013_CONSENT = "P013,1.0,2024-02-02,"


def _consent_add(study: Path, participant_id: str, day: dt.date) -> None:
    """Record a re-consent on form 2.0 as `studykit consent add` does, audited at a fixed moment."""
    from studykit.governance.edits import add_consent
    from studykit.study import load_study

    moment = dt.datetime.combine(day, dt.time(14, 30), tzinfo=dt.UTC)
    scopes = ["participate", "audio_recording", "direct_quotation", "archiving", "future_contact"]
    add_consent(
        load_study(study), participant_id, form_version="2.0", consented_on=day, scopes=scopes,
        by="Study Manager", now=moment,
    )  # fmt: skip


@breaks("GOV001")
def malformed_register(study: Path) -> None:
    """P013's consent date saved by Excel in day/month/year form ("02/02/2024") in governance/consent.csv."""
    replace(study, CONSENT, P013_CONSENT, "P013,1.0,02/02/2024,")


@breaks("GOV002")
def before_consent(study: Path) -> None:
    """P013's consent date typed with the wrong year (2025-02-02) in governance/consent.csv."""
    replace(study, CONSENT, P013_CONSENT, "P013,1.0,2025-02-02,")


@breaks("GOV003")
def after_withdrawal(study: Path) -> None:
    """P020's withdrawal date typed as 2024-02-18 instead of 2024-04-18 in governance/withdrawals.csv."""
    replace(study, WITHDRAWALS, "P020,2024-04-18,", "P020,2024-02-18,")


@breaks("GOV004")
def form_not_approved(study: Path) -> None:
    """P013's consent in February 2024 recorded on form 2.0, which ethics approved only in September 2024."""
    replace(study, CONSENT, P013_CONSENT, "P013,2.0,2024-02-02,")


@breaks("GOV005")
def outside_approval(study: Path) -> None:
    """P001's T1 WEMWBS date typed with the year before (2023-01-19) in data/measures/wemwbs.csv."""
    set_cell(study, WEMWBS, 2, "completed_on", "2023-01-19")


@breaks("GOV006")
def approval_expiring(study: Path) -> None:
    """The ethics approval's end date in governance/ethics.yml set to 2026-02-15, 45 days after validation."""
    replace(study, ETHICS, "expires_on: 2030-12-31", "expires_on: 2026-02-15")


@breaks("GOV007")
def erasure_due(study: Path) -> None:
    """P029's request to remove all data, ten days after their T1 questionnaires, added to withdrawals.csv."""
    append(study, WITHDRAWALS, "P029,2024-03-25,Asked for all of their data to be removed,remove all data,,,")


@breaks("GOV008")
def not_enrolled(study: Path) -> None:
    """P012's re-consent entered under the id "P12" in governance/consent.csv."""
    replace(study, CONSENT, "P012,2.0,", "P12,2.0,")


@breaks("GOV009")
def no_consent_event(study: Path) -> None:
    """A new participant, P034, added to data/participants.csv before their consent was recorded."""
    append(study, PARTICIPANTS, "P034,peer worker,peer support worker,S2,2025-03-10,man,31")


@breaks("GOV010")
def consent_after_withdrawal(study: Path) -> None:
    """A re-consent on form 2.0 added to governance/consent.csv for P020, who withdrew in April 2024."""
    append(study, CONSENT, "P020,2.0,2025-01-10,yes,yes,yes,yes,")


@breaks("GOV011")
def no_approval(study: Path) -> None:
    """governance/ethics.yml left as the template gives it, with no approval recorded (approvals: [])."""
    write(study, ETHICS, "approvals: []\n")


@breaks("GOV012")
def withdrawal_before_consent(study: Path) -> None:
    """P020's withdrawal date typed with the year before (2023-04-18) in governance/withdrawals.csv."""
    replace(study, WITHDRAWALS, "P020,2024-04-18,", "P020,2023-04-18,")


@breaks("GOV013")
def audited_change_lost(study: Path) -> None:
    """consent.csv overwritten by a copy saved before studykit consent add recorded P013's re-consent."""
    saved = text(study, CONSENT)
    _consent_add(study, "P013", dt.date(2025, 2, 10))
    write(study, CONSENT, saved)


@breaks("GOV014")
def unaudited_row(study: Path) -> None:
    """P014's re-consent typed into consent.csv by hand after studykit consent add recorded P013's."""
    _consent_add(study, "P013", dt.date(2025, 2, 10))
    append(study, CONSENT, "P014,2.0,2025-02-12,yes,yes,yes,yes,yes")


@breaks("GOV015")
def interrupted_edit(study: Path) -> None:
    """studykit consent add cut off (laptop shut down) after replacing consent.csv, leaving its journal."""
    consent = (study / CONSENT).read_bytes()
    before = consent[: consent.rstrip(b"\n").rfind(b"\n") + 1]  # without its last row, added by the edit
    journal = [
        {
            "target": CONSENT,
            "staged": "consent.csv.5e0c9a1b27d4.tmp",
            "before": hashlib.sha256(before).hexdigest(),
            "after": hashlib.sha256(consent).hexdigest(),
        }
    ]
    write(study, "governance/.studykit/journal.json", json.dumps(journal, indent=1))
