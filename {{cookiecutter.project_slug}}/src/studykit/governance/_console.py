"""Rich renderables for the consent and ethics commands. Builds things to show; never prints."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studykit.governance.edits import Edit
from studykit.governance.registers import SCOPES
from studykit.governance.status import ApprovalStatus, ParticipantConsent

# Short headers so the table fits an 80-column terminal.
SHORT = {
    "participate": "part", "audio_recording": "audio", "direct_quotation": "quote",
    "archiving": "archive", "future_contact": "contact",
}
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
    """One line per participant: latest form and date, each scope as it stands today, and the state."""
    title = "Consent as it stands today (blank = no, default deny)"
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
    for column in ("id", "form", "date"):
        table.add_column(column, no_wrap=True)
    for scope in SCOPES:
        table.add_column(SHORT[scope], no_wrap=True)
    table.add_column("state", overflow="fold", min_width=16)
    for row in rows:
        latest = row.events[-1] if row.events else None
        state = Text(row.state, style=STATE_STYLE.get(row.state, ""))
        if row.state_since:
            state.append(f" {row.state_since}")
        table.add_row(
            row.participant_id + ("" if row.enrolled else " *"),
            latest.form_version if latest else "",
            str(latest.consented_on) if latest else "",
            *("yes" if row.scopes_now[s] else "" for s in SCOPES),
            state,
        )
    if any(not r.enrolled for r in rows):
        table.caption = "* not in data/participants.csv"
    return table


def consent_history(row: ParticipantConsent) -> Group:
    """One participant in full: every consent event and withdrawal, oldest first."""
    events = Table(title=f"{row.participant_id}: consent events", title_justify="left")
    for column in ("row", "form", "consented on", *(SHORT[s] for s in SCOPES)):
        events.add_column(column, no_wrap=True)
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


def ethics_table(rows: list[ApprovalStatus]) -> Table | Text:
    """Every approval with its period, state and the consent form versions it covers (or a sentence)."""
    if not rows:
        return Text(
            "No ethics approval is recorded in governance/ethics.yml: add the committee, reference, dates "
            "and approved consent form versions (see docs/governance.md)."
        )
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


def edit_done(edit: Edit) -> Text:
    """The sentence an edit prints to stderr, then a sentence per warning."""
    entry = edit.entry
    what = entry.record
    if entry.action == "consent add":
        scopes = ", ".join(what["scopes"]) or "no scope"  # type: ignore[arg-type]
        detail = f"consent on form {what['form_version']} dated {what['consented_on']} ({scopes})"
    else:
        detail = f"withdrawal ({what['scope']}) dated {what['withdrawn_on']}"
    where = f"{entry.register} (audit: governance/audit.log)"
    done = Text(f"Recorded {detail} for {entry.participant_id} in {where}.")
    for warning in edit.warnings:
        done.append(f"\nWarning ({warning.code}): {warning.message}. {warning.fix}", style="yellow")
    return done
