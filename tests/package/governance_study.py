"""A small clean synthetic study for the governance tests, and a factory that changes one part of it.

All ids, names, committees and references are invented.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from tests.package.designs import design

TODAY = dt.date(2025, 6, 1)
STUDY = design(
    title="Synthetic governance study",
    slug="governance-study",
    institution="Example Institute",
    waves=[
        {"id": "T1", "label": "baseline", "offset_months": 0},
        {"id": "T2", "label": "6 months", "offset_months": 6},
    ],
)
APPROVAL = {
    "committee": "Synthetic Research Ethics Committee",
    "reference": "SYN/0001",
    "approved_on": dt.date(2024, 1, 15),
    "expires_on": dt.date(2026, 12, 31),
    "consent_forms": ["1.0"],
    "documents": ["Consent form v1.0"],
    "amendments": [
        {"reference": "SYN/0001/AM1", "approved_on": dt.date(2024, 9, 1), "consent_forms": ["2.0"]}
    ],
}
CONSENT_HEADER = (
    "participant_id,form_version,consented_on,"
    "participate,audio_recording,direct_quotation,archiving,future_contact\n"
)
CONSENT = {
    "P001": "P001,1.0,2024-02-01,yes,yes,yes,yes,yes",
    "P002": "P002,1.0,2024-02-01,yes,yes,yes,yes,yes",
    "P003": "P003,1.0,2024-02-01,yes,yes,yes,yes,yes",
}
PARTICIPANTS = (
    "participant_id,group,role,site,enrolled_on,gender,age\n"
    "P001,peer worker,,S1,2024-02-01,,30\n"
    "P002,peer worker,,S1,2024-02-01,,41\n"
    "P003,manager,,S2,2024-02-01,,52\n"
)
MEASURES = {
    "P001 T1": "P001,T1,2024-02-05,3",
    "P002 T1": "P002,T1,2024-02-05,4",
    "P003 T1": "P003,T1,2024-02-05,2",
    "P001 T2": "P001,T2,2024-08-05,3",
}
MEASURES_FILE = "data/measures/wemwbs.csv"
EMPLOYMENT = (
    "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,hours_per_week\n"
    "P001,T1,2024-02-05,true,,fixed-term,15\n"
)
WITHDRAWALS_HEADER = "participant_id,withdrawn_on,reason,scope\n"


def make_study(
    tmp_path: Path,
    *,
    consent: dict[str, str] | None = None,
    extra_consent: tuple[str, ...] = (),
    withdrawals: tuple[str, ...] = (),
    approvals: list[dict] | None = None,
    measures: dict[str, str] | None = None,
    participants: str = PARTICIPANTS,
    transcripts: dict[str, dict] | None = None,
    withdrawal_policy: dict | None = None,
) -> Path:
    """A small clean study in ``tmp_path``; each keyword replaces one part of it."""
    root = tmp_path / "study"
    design = dict(STUDY)
    if withdrawal_policy is not None:
        design["governance"] = {"withdrawal": withdrawal_policy}
    rows = [*(consent if consent is not None else CONSENT).values(), *extra_consent]
    files = {
        "study.yml": yaml.safe_dump(design),
        "data/participants.csv": participants,
        MEASURES_FILE: "participant_id,wave,completed_on,item_01\n"
        + "".join(r + "\n" for r in (measures if measures is not None else MEASURES).values()),
        "data/employment.csv": EMPLOYMENT,
        "governance/consent.csv": CONSENT_HEADER + "".join(r + "\n" for r in rows),
        "governance/withdrawals.csv": WITHDRAWALS_HEADER + "".join(r + "\n" for r in withdrawals),
        "governance/ethics.yml": yaml.safe_dump(
            {"approvals": [APPROVAL] if approvals is None else approvals}
        ),
    }
    for name, meta in (transcripts or {}).items():
        front = yaml.safe_dump({"id": name, "kind": "interview", "wave": "T1", **meta}, sort_keys=False)
        speaker = meta["participants"][0]
        files[f"data/qualitative/transcripts/{name}.md"] = (
            f"---\n{front}---\n**INT:** Hello.\n\n**{speaker}:** Hello.\n"
        )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def edit_at(root: str, participant_id: str, start: float) -> str:
    """One governed edit, begun at the wall-clock time ``start`` (for a worker process).

    Odd-numbered participants withdraw, even-numbered ones re-consent on form 2.0. Kept here,
    with light imports, so that spawned workers start quickly.
    """
    import time

    from studykit.governance.edits import add_consent, withdraw
    from studykit.study import load_study

    time.sleep(max(0.0, start - time.time()))
    study, now, by = load_study(Path(root)), dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC), "Synthetic"
    if int(participant_id[1:]) % 2:
        withdraw(
            study, participant_id, withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=by, now=now
        )
    else:
        add_consent(
            study,
            participant_id,
            form_version="2.0",
            consented_on=dt.date(2024, 9, 2),
            scopes=["participate"],
            by=by,
            now=now,
        )
    return participant_id
