"""Where consent and ethics stand today: ``studykit consent status`` and ``studykit ethics status``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from studykit.errors import RegisterError, StudykitError
from studykit.governance.consent_filter import ConsentFilter
from studykit.governance.journal import edit_lock, leftovers
from studykit.governance.registers import SCOPES, ConsentEvent, Withdrawal
from studykit.study import Study
from studykit.tables import read_text_table


@dataclass(frozen=True)
class ParticipantConsent:
    """One participant's consent history and what may be done with their data now."""

    participant_id: str
    enrolled: bool
    events: tuple[ConsentEvent, ...]
    withdrawals: tuple[Withdrawal, ...]
    scopes_now: dict[str, bool]

    @property
    def state(self) -> str:
        if any(w.removes_data for w in self.withdrawals):
            return "removal requested"
        if self.withdrawals:
            return "withdrawn (no further data)"
        if not self.events:
            return "no consent"
        return "consented" if self.scopes_now["participate"] else "no consent to participate"

    @property
    def state_since(self) -> dt.date | None:
        """The date of the withdrawal the state names: a removal request, else the first withdrawal."""
        removal = next((w for w in self.withdrawals if w.removes_data), None)
        if removal is not None:
            return removal.withdrawn_on
        return self.withdrawals[0].withdrawn_on if self.withdrawals else None

    def to_dict(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "state": self.state,
            "state_since": self.state_since.isoformat() if self.state_since else None,
            "enrolled": self.enrolled,
            "scopes_now": dict(self.scopes_now),
            "events": [{**e.record(), "row": e.row} for e in self.events],
            "withdrawals": [w.record() for w in self.withdrawals],
        }


def _enrolled_ids(study: Study) -> set[str]:
    try:
        frame = read_text_table(study.participants_path, columns=["participant_id"]).frame
    except StudykitError:  # unreadable, or no participant_id column
        return set()
    return set(frame.get_column("participant_id").drop_nulls().to_list())


def consent_status(study: Study, participant_id: str | None = None) -> list[ParticipantConsent]:
    """Consent state of every participant (registers and participants.csv), or of one.

    An edit interrupted by a crash is finished (or its staged files deleted) first, under the lock.
    """
    if leftovers(study):
        with edit_lock(study):
            pass
    consent = ConsentFilter.from_study(study)
    registers = consent.registers
    enrolled = _enrolled_ids(study)
    everyone = sorted(set(enrolled) | registers.participants)
    if participant_id is not None:
        if participant_id not in everyone:
            msg = f"{participant_id} is in neither the registers nor data/participants.csv"
            raise RegisterError(msg, path="governance/consent.csv", fix="Check the participant id.")
        everyone = [participant_id]
        # Asking about one participant: their part of the registers indexes at once.
        consent = ConsentFilter(registers.for_participants(everyone), consent.policy)
        registers = consent.registers
    return [
        ParticipantConsent(
            participant_id=pid,
            enrolled=pid in enrolled,
            events=tuple(registers.events(pid)),
            withdrawals=tuple(registers.withdrawals_of(pid)),
            scopes_now={scope: consent.allows(pid, scope) for scope in SCOPES},
        )
        for pid in everyone
    ]


@dataclass(frozen=True)
class ApprovalStatus:
    """One ethics approval as of a day: its period, what it approved, and whether it is running."""

    committee: str
    reference: str
    approved_on: dt.date
    ends_on: dt.date | None
    consent_forms: tuple[str, ...]
    documents: tuple[str, ...]
    amendments: tuple[str, ...]
    state: str
    days_left: int | None

    def to_dict(self) -> dict[str, object]:
        return {
            "committee": self.committee,
            "reference": self.reference,
            "approved_on": self.approved_on.isoformat(),
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "consent_forms": list(self.consent_forms),
            "documents": list(self.documents),
            "amendments": list(self.amendments),
            "state": self.state,
            "days_left": self.days_left,
        }


def ethics_status(study: Study, today: dt.date | None = None) -> list[ApprovalStatus]:
    """Every ethics approval: active, expiring (within the warning days), expired or not yet started."""
    registers = ConsentFilter.from_study(study).registers
    today = today or dt.datetime.now(dt.UTC).date()
    warning = study.governance.ethics_expiry_warning_days
    rows = []
    for approval in registers.ethics.approvals:
        end = approval.ends_on
        days_left = (end - today).days if end else None
        if today < approval.approved_on:
            state = "not yet started"
        elif days_left is not None and days_left < 0:
            state = "expired"
        elif days_left is not None and days_left <= warning:
            state = "expiring"
        else:
            state = "active"
        documents = [*approval.documents, *(d for a in approval.amendments for d in a.documents)]
        rows.append(
            ApprovalStatus(
                committee=approval.committee,
                reference=approval.reference,
                approved_on=approval.approved_on,
                ends_on=end,
                consent_forms=tuple(approval.form_versions()),
                documents=tuple(documents),
                amendments=tuple(f"{a.reference} ({a.approved_on})" for a in approval.amendments),
                state=state,
                days_left=days_left,
            )
        )
    return rows
