"""Participant flow per wave (STROBE item 13; an adapted CONSORT diagram), with withdrawals by scope.

From the numbers at each stage: enrolled (participants.csv), removed at their own
request (a "remove all data" withdrawal the consent filter applies), analysed; then per
wave the participants with questionnaire data, the interviews and focus groups held,
and the withdrawals that came before the wave's target date, by scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from studykit.study import Study

SCOPES = ("no further data", "remove all data")


@dataclass(frozen=True)
class WaveFlow:
    wave: str
    label: str
    questionnaires: int  # participants with any analysed questionnaire row in this wave
    not_seen: int  # participants with questionnaires at some wave but not this one, and not withdrawn
    interviews: int
    focus_groups: int
    employed: int  # employed as a peer worker at this wave (employment.csv), when recorded
    withdrawn_before: dict[str, int] = field(default_factory=dict)  # scope -> withdrawals before this wave


@dataclass(frozen=True)
class Flow:
    enrolled: int
    removed: int  # participants the consent filter removed for analysis
    analysed: int
    withdrawals: dict[str, int]  # scope -> participants
    waves: list[WaveFlow]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Withdrawn:
    participant_id: str
    withdrawn_on: dt.date
    scope: str


def participant_flow(
    study: Study,
    *,
    enrolled: Mapping[str, dt.date | None],
    analysed: Sequence[str],
    seen: Mapping[str, set[str]],
    transcripts: Mapping[str, Mapping[str, int]],
    employed: Mapping[str, int],
    withdrawals: Sequence[Withdrawn],
) -> Flow:
    """The flow from plain facts.

    ``enrolled``: every participant in participants.csv with their enrolment date;
    ``analysed``: those the consent filter keeps for analysis; ``seen``: wave -> ids with
    questionnaire data; ``transcripts``: wave -> kind -> count; ``employed``: wave -> n.
    """
    kept = set(analysed)
    cohort = set().union(*seen.values()) & kept if seen else set()
    by_scope = {scope: len({w.participant_id for w in withdrawals if w.scope == scope}) for scope in SCOPES}
    waves = []
    for wave in study.waves:
        before: dict[str, set[str]] = {scope: set() for scope in SCOPES}
        for w in withdrawals:
            start = enrolled.get(w.participant_id)
            if start is not None and w.scope in before and w.withdrawn_on < wave.target_date(start):
                before[w.scope].add(w.participant_id)
        gone = set().union(*before.values())
        present = seen.get(wave.id, set()) & kept
        waves.append(
            WaveFlow(
                wave=wave.id,
                label=wave.label,
                questionnaires=len(present),
                not_seen=len(cohort - present - gone),
                interviews=transcripts.get(wave.id, {}).get("interview", 0),
                focus_groups=transcripts.get(wave.id, {}).get("focus group", 0),
                employed=employed.get(wave.id, 0),
                withdrawn_before={scope: len(ids) for scope, ids in before.items()},
            )
        )
    return Flow(len(enrolled), len(set(enrolled) - kept), len(kept), by_scope, waves)
