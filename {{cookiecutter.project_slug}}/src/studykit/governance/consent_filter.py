"""The one consent filter: every consumer of participant data asks it what it may use.

Scores, reports, quotes and deposits all pass their tables through
``ConsentFilter.filter`` with a *purpose*:

- ``analysis``: rows collected while consent to participate was in force (decided by
  ``coverage.in_force``, the rule validation and the edits use too), minus the data a
  "remove all data" withdrawal takes away under the study's withdrawal policy;
- ``quotation``: the same, without anyone who asked to remove all data (whatever the
  policy retained), and only participants whose latest consent includes direct quotation;
- ``deposit``: likewise, with the archiving scope instead of quotation;
- ``sharing``: the data leave the study's own analysis (labelled exports for other tools):
  as ``analysis``, without anyone who asked to remove all data, whatever the policy retained.

Each rule records an ``Exclusion`` (how many participants and rows it removed), so a
report can state what consent took out. A row removed by one rule is not counted
again by a later one. The reasoning behind each rule is in docs/governance.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Literal

import polars as pl

from studykit.errors import DataReadError
from studykit.governance.coverage import COVERED, in_force, in_force_on
from studykit.governance.registers import Registers, Withdrawal, load_registers
from studykit.study import Study
from studykit.study import Withdrawal as WithdrawalPolicy

Purpose = Literal["analysis", "quotation", "deposit", "sharing"]
PURPOSES: tuple[Purpose, ...] = ("analysis", "quotation", "deposit", "sharing")
# Scopes about what happens next (collection, recording, contact) end with any withdrawal;
# scopes about using what was collected end only when its removal is due.
COLLECTION_SCOPES = ("participate", "audio_recording", "future_contact")
USE_SCOPES = ("direct_quotation", "archiving")
PURPOSE_SCOPE: dict[str, str] = {"quotation": "direct_quotation", "deposit": "archiving"}

REMOVAL = "removal_requested"
NO_CONSENT = "no_consent_at_collection"
RULE_FOR_SCOPE = {"direct_quotation": "no_quotation_consent", "archiving": "no_archiving_consent"}


@dataclass(frozen=True)
class Exclusion:
    """What one consent rule removed from one resource."""

    rule: str
    resource: str
    participants: int
    rows: int


@dataclass
class ConsentFilter:
    """Decides, from the registers and the withdrawal policy, which data may be used for what."""

    registers: Registers
    policy: WithdrawalPolicy = field(default_factory=WithdrawalPolicy)
    exclusions: list[Exclusion] = field(default_factory=list)

    @classmethod
    def from_study(cls, study: Study) -> ConsentFilter:
        """Read the study's registers (``RegisterError`` if malformed) and its withdrawal policy."""
        return cls(load_registers(study), study.governance.withdrawal)

    # --- questions about one participant ---------------------------------------------------------

    def allows(self, participant_id: str, scope: str, on: dt.date | None = None) -> bool:
        """Whether ``participant_id`` consents to ``scope`` on a date, or (``on=None``) for use now.

        With a date: the latest consent event on or before it has the scope and no withdrawal
        came on or before it. Without: the latest event has the scope; collection scopes end
        with any withdrawal, use scopes (quotation, archiving) when a removal is requested.
        """
        if on is not None:
            return in_force_on(self.registers, participant_id, on, scope=scope).covered
        latest = self.registers.latest(participant_id)
        if latest is None or not latest.has(scope):
            return False
        if scope in COLLECTION_SCOPES:
            return not self.registers.withdrawals_of(participant_id)
        return self.registers.removal(participant_id) is None

    def removes(self, participant_id: str, collected_on: dt.date | None) -> bool:
        """Whether the withdrawal policy removes data of ``participant_id`` collected on that date.

        Undated data (for example a row of participants.csv) count as collected on the
        participant's first consent date.
        """
        removal = self.registers.removal(participant_id)
        if removal is None:
            return False
        day = collected_on or self._first_consent(participant_id)
        return _policy_removes(self.policy, removal, day)

    def _first_consent(self, participant_id: str) -> dt.date | None:
        events = self.registers.events(participant_id)
        return events[0].consented_on if events else None

    def collected_with_consent(self, participant_id: str, collected_on: dt.date | None) -> bool:
        """Consent to participate in force on the collection date (``None``: at first consent)."""
        return in_force_on(self.registers, participant_id, collected_on).covered

    # --- tables ----------------------------------------------------------------------------------

    def filter(
        self,
        frame: pl.DataFrame,
        *,
        resource: str,
        purpose: Purpose,
        date_column: str | None = None,
        participant_column: str = "participant_id",
    ) -> pl.DataFrame:
        """Drop the rows ``purpose`` may not use and record what each rule excluded."""
        if purpose not in PURPOSES:
            msg = f"unknown purpose {purpose!r}; use one of {', '.join(PURPOSES)}"
            raise ValueError(msg)
        for column in (participant_column, date_column):
            if column is not None and column not in frame.columns:
                msg = f"has no {column!r} column, so consent cannot be applied"
                fix = "Pass the table with its participant and date columns."
                raise DataReadError(msg, path=resource, fix=fix)
        ids = frame.get_column(participant_column).cast(pl.String)
        dates = _dates(frame, date_column) if date_column else pl.Series([None] * frame.height, dtype=pl.Date)
        rows = pl.DataFrame({"participant_id": ids, "day": dates}).with_row_index("_index")
        rules: list[tuple[str, pl.Series]] = [
            (REMOVAL, self._removal_mask(rows, purpose)),
            (NO_CONSENT, self._no_consent_mask(rows, dated=date_column is not None)),
        ]
        if purpose in PURPOSE_SCOPE:
            scope = PURPOSE_SCOPE[purpose]
            allowed = self._allowed_now(scope).implode()
            rules.append((RULE_FOR_SCOPE[scope], ~ids.is_in(allowed).fill_null(value=False)))
        keep = pl.Series([True] * frame.height, dtype=pl.Boolean)
        for rule, drops in rules:
            hit = drops & keep
            count = int(hit.sum())
            if count:
                self.exclusions.append(Exclusion(rule, resource, ids.filter(hit).n_unique(), count))
                keep = keep & ~hit
        return frame.filter(keep)

    def _allowed_now(self, scope: str) -> pl.Series:
        """Everyone ``allows(participant, scope)`` holds for, decided over the whole register at once."""
        ending = [
            w.participant_id
            for w in self.registers.withdrawals
            if scope in COLLECTION_SCOPES or w.removes_data
        ]
        latest = (
            self.registers.consent_frame.sort("consented_on", maintain_order=True)
            .group_by("participant_id")
            .last()
        )
        return latest.filter(pl.col(scope) & ~pl.col("participant_id").is_in(ending)).get_column(
            "participant_id"
        )

    def _removal_mask(self, rows: pl.DataFrame, purpose: Purpose) -> pl.Series:
        """Rows a "remove all data" request takes away; only those participants' rows are looked at."""
        removing = sorted({w.participant_id for w in self.registers.withdrawals if w.removes_data})
        if not removing:
            return pl.Series([False] * rows.height, dtype=pl.Boolean)
        candidates = rows.filter(pl.col("participant_id").is_in(removing))
        # Asked one row at a time, about few participants: their part of the registers indexes quickly.
        removers = ConsentFilter(self.registers.for_participants(removing), self.policy)
        dropped = [
            index for index, pid, day in candidates.iter_rows() if removers._removal_drops(pid, day, purpose)
        ]
        return rows.get_column("_index").is_in(dropped)

    def _no_consent_mask(self, rows: pl.DataFrame, *, dated: bool) -> pl.Series:
        """Rows ``in_force`` does not cover: no consent to participate in force when collected."""
        judged = in_force(rows.select("participant_id", "day"), self.registers, dated=dated)
        return judged.get_column("verdict") != COVERED

    def _removal_drops(self, participant_id: str, collected_on: dt.date | None, purpose: Purpose) -> bool:
        # The policy may keep collected data for this study's analysis; they are never
        # quoted or shared once the participant asked to remove all data.
        if purpose == "analysis":
            return self.removes(participant_id, collected_on)
        return self.registers.removal(participant_id) is not None

    def summary(self) -> list[dict]:
        """Every exclusion so far as plain data (for reports, results.json and deposits)."""
        return [asdict(e) for e in self.exclusions]


def _dates(frame: pl.DataFrame, column: str) -> pl.Series:
    series = frame.get_column(column)
    if series.dtype == pl.Date:
        return series
    if series.dtype == pl.Datetime:
        return series.dt.date()
    # Text dates: an unparseable one counts as undated (the structure layer reports it).
    return series.cast(pl.String).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def _policy_removes(policy: WithdrawalPolicy, removal: Withdrawal, collected_on: dt.date | None) -> bool:
    """Whether a "remove all data" request takes away data collected on ``collected_on``."""
    if policy.policy == "delete_all" or collected_on is None:
        return True
    if policy.policy == "delete_unanalysed":
        # Kept only when the data had been analysed before the request came: removed while
        # nothing is analysed, when the request came on or before the analysis date (the same
        # day counts as before: the order cannot be told, and the request wins), or when the
        # data were collected after the analysis.
        analysed = policy.analysed_on
        return analysed is None or removal.withdrawn_on <= analysed or collected_on > analysed
    # retain_collected: kept unless removal was asked within the window after collection.
    return (removal.withdrawn_on - collected_on).days <= policy.removal_window_days
