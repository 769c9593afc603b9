"""Rich renderables for the consent and ethics commands. Builds things to show; never prints."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studykit.governance.audit import AuditEntry
from studykit.governance.registers import SCOPES
from studykit.governance.status import ApprovalStatus, ParticipantConsent

STATE_STYLE = {
    "consented": "green",
    "withdrawn (no further data)": "yellow",
    "removal requested": "bold red",
    "no consent": "bold red",
    "no consent to participate": "bold red",
    "active": "green",
    "expiring": "yellow",
    "expired": "bold red",
    "not yet started": "cyan",
}


def consent_table(rows: list[ParticipantConsent]) -> Table:
    """One line per participant: state, latest form and date, and each scope as it stands today."""
    table = Table(title="Consent as it stands today (blank = no, default deny)", title_justify="left")
    for column in ("participant", "state", "latest form", "consented on", "events", *SCOPES, "withdrawal"):
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        latest = row.events[-1] if row.events else None
        withdrawal = "; ".join(f"{w.scope} ({w.withdrawn_on})" for w in row.withdrawals)
        name = row.participant_id + ("" if row.enrolled else " *")
        table.add_row(
            name,
            Text(row.state, style=STATE_STYLE.get(row.state, "")),
            latest.form_version if latest else "",
            str(latest.consented_on) if latest else "",
            str(len(row.events)),
            *("yes" if row.scopes_now[s] else "" for s in SCOPES),
            withdrawal,
        )
    if any(not r.enrolled for r in rows):
        table.caption = "* not in data/participants.csv"
    return table


def consent_history(row: ParticipantConsent) -> Group:
    """One participant in full: every consent event and withdrawal, oldest first."""
    events = Table(title=f"{row.participant_id}: consent events", title_justify="left")
    for column in ("row", "form", "consented on", *SCOPES):
        events.add_column(column.replace("_", " "))
    for e in row.events:
        scopes = ("yes" if e.has(s) else "" for s in SCOPES)
        events.add_row(str(e.row or ""), e.form_version, str(e.consented_on), *scopes)
    parts: list = [Text.assemble("State: ", (row.state, STATE_STYLE.get(row.state, ""))), events]
    for w in row.withdrawals:
        reason = f" ({w.reason})" if w.reason else ""
        parts.append(Text(f"Withdrew on {w.withdrawn_on}: {w.scope}{reason}"))
    now = ", ".join(s for s in SCOPES if row.scopes_now[s]) or "nothing"
    parts.append(Text(f"May be used now for: {now}"))
    return Group(*parts)


def ethics_table(rows: list[ApprovalStatus]) -> Table:
    """Every approval with its period, state and the consent form versions it covers."""
    table = Table(title="Ethics approvals", title_justify="left")
    for column in ("committee", "reference", "approved on", "ends on", "state", "days left", "consent forms",
                   "amendments"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.committee, row.reference, str(row.approved_on), str(row.ends_on or "open-ended"),
            Text(row.state, style=STATE_STYLE.get(row.state, "")),
            "" if row.days_left is None else str(row.days_left),
            ", ".join(row.consent_forms), "; ".join(row.amendments),
        )
    return table


def edit_done(entry: AuditEntry) -> str:
    """The one sentence an edit prints to stderr."""
    what = entry.record
    if entry.action == "consent add":
        scopes = ", ".join(what["scopes"]) or "no scope"  # type: ignore[arg-type]
        detail = f"consent on form {what['form_version']} dated {what['consented_on']} ({scopes})"
    else:
        detail = f"withdrawal ({what['scope']}) dated {what['withdrawn_on']}"
    return f"Recorded {detail} for {entry.participant_id} in {entry.register} (audit: governance/audit.log)."
