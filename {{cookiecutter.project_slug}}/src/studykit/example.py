"""The synthetic example study: a seeded twin of a published 32-peer-worker study.

``example_files(seed)`` returns every data file of the example as text, keyed by its
path in a study folder; ``write_example`` writes them into a study. Everything is
invented and deterministic (same seed, same bytes; fixed dates, no clock). After the
consent filter the twin reproduces the published Table 3 of Gillard et al. 2022
(BMC Psychiatry, doi:10.1186/s12888-022-03999-9): n per wave and cell, and the
means and SDs of WEMWBS and of the job-satisfaction and team-working subscales, at
the precision printed there. ``table3_comparison`` sets the two side by side.
How it is made and what is invented: docs/example-study.md in the template.

The twin enrols 33 peer workers: the 32 of the paper plus one (P033) who later
withdraws asking for all their data to be removed, so the raw files hold 33 at T1
and the consent filter leaves the published 32.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from studykit import _example_text as text
from studykit._example_fit import Target, fit_sums, split_sum
from studykit.errors import ExistingDataError, StudyConfigError
from studykit.instruments import Instrument, load_library_instrument
from studykit.instruments.model import parse_definition
from studykit.study import Study, Wave, load_study

DEFAULT_SEED = 2022
WAVES = (
    Wave(id="T1", label="after training", offset_months=0),
    Wave(id="T2", label="4 months", offset_months=4),
    Wave(id="T3", label="12 months", offset_months=12),
)
INSTRUMENTS = ("wemwbs", "cbi", "mjs", "team")
PEER_WORKERS = 32
WITHDRAWN = "P033"  # the extra participant who withdraws with "remove all data"
COHORTS = (dt.date(2024, 1, 15), dt.date(2024, 2, 12), dt.date(2024, 3, 11))
ETHICS_APPROVED = dt.date(2023, 10, 2)
# Far in the future on purpose: validation warns about approvals expiring within 60 days
# of *today*, and the example must stay clean whenever it is baked.
ETHICS_EXPIRES = dt.date(2030, 12, 31)
AMENDMENT_APPROVED = dt.date(2024, 9, 2)
EVENT_DATE = dt.date(2024, 7, 1)
FOCUS_GROUPS = (
    ("FG-A", dt.date(2024, 10, 8), ("FG001", "FG002", "FG003", "FG004", "FG005")),
    ("FG-B", dt.date(2024, 10, 22), ("FG006", "FG007", "FG008", "FG009", "FG010")),
)
SITES = ("S1", "S2", "S3", "S4")
PUBLISHED_SOURCE = "Gillard et al. 2022, BMC Psychiatry, Table 3"


@dataclass(frozen=True)
class Cell:
    """One cell of Table 3: a score in a wave, with n, mean and SD as printed."""

    construct: str  # instrument.score
    wave: str
    n: int
    mean: float
    sd: float | None
    mean_decimals: int = 1
    sd_decimals: int = 2
    low: int | None = None
    high: int | None = None


def _row(construct: str, cells: Iterable[tuple[int, float, float]], **extra: int) -> list[Cell]:
    return [
        Cell(construct, wave, n, mean, sd, **extra)
        for wave, (n, mean, sd) in zip(("T1", "T2", "T3"), cells, strict=True)
    ]


# Table 3 as printed (T2 WEMWBS SD "9017" read as 9.17). Team Effectiveness: only T1 n and mean survive.
PUBLISHED: tuple[Cell, ...] = (
    Cell("wemwbs.total", "T1", 32, 49.8, 9.07, low=28, high=70),
    Cell("wemwbs.total", "T2", 20, 47.7, 9.17, low=32, high=69),
    Cell("wemwbs.total", "T3", 21, 48.7, 11.73, low=25, high=68),
    *_row("mjs.personal", [(29, 4.3, 0.72), (17, 4.2, 0.51), (19, 4.2, 0.64)]),
    *_row("mjs.workload", [(30, 3.9, 0.76), (17, 3.8, 0.62), (19, 3.8, 0.78)]),
    *_row("mjs.professional_support", [(31, 4.5, 0.53), (17, 4.5, 0.58), (19, 4.4, 0.82)]),
    *_row("mjs.training", [(29, 3.9, 0.74), (17, 3.8, 0.92), (19, 3.6, 0.86)]),
    *_row("mjs.pay", [(30, 3.5, 1.14), (17, 3.4, 1.23), (20, 3.5, 1.10)]),
    *_row("mjs.prospects", [(30, 3.5, 0.92), (17, 3.5, 1.00), (19, 3.1, 1.10)]),
    *_row("mjs.standards_of_care", [(29, 4.0, 0.62), (17, 4.0, 0.65), (19, 3.9, 0.89)]),
    *_row("mjs.overall", [(30, 3.9, 0.66), (17, 3.9, 0.60), (20, 3.7, 0.74)]),
    *_row("team.leadership", [(31, 4.2, 0.66), (20, 4.4, 0.47), (21, 4.1, 0.62)]),
    *_row("team.cohesion", [(32, 4.3, 0.84), (20, 4.3, 0.47), (21, 4.2, 0.93)]),
    *_row("team.communication", [(31, 4.1, 0.57), (20, 4.0, 0.60), (21, 3.8, 0.93)]),
    *_row("team.coordination", [(31, 4.2, 0.66), (20, 4.2, 0.61), (21, 4.1, 0.86)]),
    *_row("team.conflict_management", [(27, 3.8, 0.49), (20, 3.8, 0.35), (20, 3.7, 0.45)]),
    Cell("team.effectiveness", "T1", 26, 4.0, None),
)
# Invented to complete the twin where the published table is cut off (never compared).
INVENTED: tuple[Cell, ...] = (
    Cell("team.effectiveness", "T1", 26, 4.0, 0.58),
    Cell("team.effectiveness", "T2", 20, 4.1, 0.50),
    Cell("team.effectiveness", "T3", 20, 3.9, 0.71),
)
# CBI rows were cut off in the retrieved table: invented means (0-100) with a rise at 4 months.
CBI_MEANS = {"T1": (38.0, 33.0, 22.0), "T2": (45.0, 40.0, 26.0), "T3": (40.0, 35.0, 23.0)}
CBI_SD = 15.0
# Table 1 of the paper: age at T1, n = 27, 42.9 (9.0).
AGE = Target(n=27, mean=42.9, sd=9.0, sd_decimals=1)

# --- the study-defined instruments (item structure not public: counts invented) ---------------

MJS_SUBSCALES = (  # id, name, invented item count, Table 3 norm (item mean, SD) or None
    ("personal", "Personal satisfaction", 6, (3.7, 0.65)),
    ("workload", "Satisfaction with workload", 5, (3.1, 0.77)),
    ("professional_support", "Satisfaction with professional support", 6, (3.6, 0.69)),
    ("training", "Satisfaction with training", 4, (3.2, 0.92)),
    ("pay", "Satisfaction with pay", 3, (3.4, 0.66)),
    ("prospects", "Satisfaction with prospects", 4, (3.4, 0.66)),
    ("standards_of_care", "Satisfaction with standards of care", 5, None),
    ("overall", "Overall satisfaction", 5, (3.44, 0.53)),
)
TEAM_SUBSCALES = (
    ("leadership", "Leadership", 6, (3.8, 0.77)),
    ("cohesion", "Team cohesion", 5, (4.0, 0.73)),
    ("communication", "Communication", 5, (3.6, 0.69)),
    ("coordination", "Coordination", 5, (3.9, 0.75)),
    ("conflict_management", "Conflict management", 5, (3.6, 0.66)),
    ("effectiveness", "Perceived team effectiveness", 4, None),
)


def _subscale_items(subscales: tuple) -> dict[str, list[str]]:
    items, number = {}, 0
    for score_id, _name, count, _norm in subscales:
        items[score_id] = [f"item_{number + i:02d}" for i in range(1, count + 1)]
        number += count
    return items


def _definition(instrument_id: str) -> dict:
    """The example's own instrument definition (mjs or team) as plain data."""
    if instrument_id == "mjs":
        subscales, labels = MJS_SUBSCALES, text.MJS_LABELS
        head = text.MJS_HEAD
    else:
        subscales, labels = TEAM_SUBSCALES, text.TEAM_LABELS
        head = text.TEAM_HEAD
    items = _subscale_items(subscales)
    norms = []
    for score_id, _name, _count, norm in subscales:
        if norm is None:
            continue
        entry = {
            "score": score_id,
            "population": head["norm_population"],
            "mean": norm[0],
            "sd": norm[1],
            "source": f"{PUBLISHED_SOURCE} (norm column). doi:10.1186/s12888-022-03999-9",
            "unit": "item mean",
            "verified": True,
            "note": "As printed in Table 3; the norm's own source was not retrieved.",
        }
        if score_id in ("pay", "prospects"):
            entry["note"] = (
                "As printed in Table 3. Pay and Prospects have identical norms there, "
                "which may be a copy error in the paper; check the original source before citing."
            )
        norms.append(entry)
    return {
        "id": instrument_id,
        "name": head["name"],
        "version": "example (item structure invented)",
        "construct": head["construct"],
        "citation": head["citation"],
        "licence": {"item_text_allowed": False, "note": head["licence"]},
        "response": {"min": 1, "max": 5, "labels": labels},
        "items": [
            {"id": item, "label": f"{score_id} {index}"}
            for score_id, ids in items.items()
            for index, item in enumerate(ids, start=1)
        ],
        "scores": [
            {
                "id": score_id,
                "name": name,
                "items": items[score_id],
                "method": "mean",
                "range": [1, 5],
                "decimals": 4,
                "note": "Mean of the subscale's items; every item must be answered.",
            }
            for score_id, name, _count, _norm in subscales
        ],
        "norms": norms,
        "notes": head["notes"],
    }


def study_instrument(instrument_id: str) -> Instrument:
    """The example's own definition of ``mjs`` or ``team``, validated like a study's file."""
    return parse_definition(_definition(instrument_id), Path(f"instruments/{instrument_id}.yml"), "study")


# --- the plan: who is in the study, when, and what happens to them ----------------------------


@dataclass
class Person:
    id: str
    cohort: int
    enrolled_on: dt.date
    gender: str | None
    age: int | None
    site: str
    waves: dict[str, dt.date] = field(default_factory=dict)  # questionnaire completion dates
    employment: dict[str, tuple[bool, str, float]] = field(default_factory=dict)  # contract, hours
    withdrawn: tuple[dt.date, str, str] | None = None  # date, reason, scope
    quotation: bool = True
    trait: float = 0.0  # wellbeing and satisfaction
    strain: float = 0.0  # burnout, partly the opposite of wellbeing


@dataclass
class Plan:
    people: list[Person]
    interviewees: list[str]
    event_attendees: list[str]
    rng: random.Random

    def person(self, pid: str) -> Person:
        return next(p for p in self.people if p.id == pid)

    def respondents(self, wave: str) -> list[Person]:
        return [p for p in self.people if wave in p.waves]


def _band(age: int) -> int:
    return (age - 5) // 10  # 25-34, 35-44, ...: the disclosure check's age bands


def _coarsen(people: list[Person], rng: random.Random) -> None:
    """Move anyone alone in their site / gender / age band to a site where someone shares the rest.

    Real studies coarsen before deposit; the example is born coarse so its disclosure check is clean.
    """
    while True:
        known = [p for p in people if p.gender and p.age is not None]
        counts = Counter((p.site, p.gender, _band(p.age)) for p in known)
        lonely = [p for p in known if counts[(p.site, p.gender, _band(p.age))] == 1]
        if not lonely:
            return
        person = lonely[0]
        partners = [
            q
            for q in known
            if q is not person and (q.gender, _band(q.age)) == (person.gender, _band(person.age))
        ]
        if partners:
            person.site = rng.choice(partners).site
        else:
            person.gender = None


def _target(person: Person, wave: Wave) -> dt.date:
    return wave.target_date(person.enrolled_on)


def _plan(seed: int) -> Plan:
    rng = random.Random(seed)
    people = []
    for index in range(PEER_WORKERS + 1):
        cohort = index * len(COHORTS) // (PEER_WORKERS + 1)
        trait = rng.gauss(0, 1)
        people.append(
            Person(
                id=f"P{index + 1:03d}",
                cohort=cohort,
                enrolled_on=COHORTS[cohort],
                gender=rng.choices(["woman", "man", None], weights=[64, 30, 6])[0],
                age=None,
                site=SITES[rng.randrange(len(SITES))],
                trait=trait,
                strain=-0.6 * trait + 0.8 * rng.gauss(0, 1),
            )
        )
    core = people[:PEER_WORKERS]
    with_age = rng.sample(range(PEER_WORKERS), AGE.n)
    ages = fit_sums([rng.gauss(0, 1) for _ in with_age], AGE, scale=1, lo=25, hi=62, rng=rng)
    for index, age in zip(with_age, ages, strict=True):
        core[index].age = age
    people[-1].age = 35 + rng.randrange(15)
    _coarsen(people, rng)

    ids = [p.id for p in core]
    early_leavers = set(rng.sample(ids, 5))  # left the peer worker role before 4 months
    rest = [i for i in ids if i not in early_leavers]
    stopped = rng.choice(rest)  # withdrew after T1: no further data
    rest.remove(stopped)
    late_leavers = set(rng.sample(rest, 3))  # left the role before 12 months
    at_t2 = set(rng.sample(rest, 20))
    at_t3 = set(rng.sample([i for i in rest if i not in late_leavers], 21))

    hours = (15.0, 22.5, 30.0, 37.5)
    for person in people:
        t1, t2, t3 = (_target(person, w) for w in WAVES)
        # P033 answers the T1 questionnaires the day after training and asks for removal two days later.
        person.waves["T1"] = t1 + dt.timedelta(days=1 if person.id == WITHDRAWN else rng.randrange(0, 22))
        if person.id in at_t2:
            person.waves["T2"] = t2 + dt.timedelta(days=rng.randrange(-10, 41))
        if person.id in at_t3:
            person.waves["T3"] = t3 + dt.timedelta(days=rng.randrange(-10, 41))
        contract = rng.choices(["fixed-term", "permanent", "bank"], weights=[70, 20, 10])[0]
        week = rng.choice(hours)
        person.employment["T1"] = (True, contract, week)
        leaves_at = "T2" if person.id in early_leavers else "T3" if person.id in late_leavers else None
        for wave in ("T2", "T3"):
            if leaves_at and wave >= leaves_at:
                person.employment[wave] = (False, "none", 0.0)
            elif wave == "T3" and contract == "fixed-term" and rng.random() < 0.25:
                person.employment[wave] = (True, "permanent", week)  # some posts were made permanent
            else:
                person.employment[wave] = (True, contract, week)
    person = next(p for p in people if p.id == stopped)
    person.withdrawn = (person.waves["T1"] + dt.timedelta(days=45), text.REASON_NO_FURTHER, "no further data")
    # Within the policy's removal window of every collection (consent included), so that under the
    # default withdrawal policy (retain_collected, 14 days) the consent filter removes all of it.
    person = people[-1]
    person.withdrawn = (person.enrolled_on + dt.timedelta(days=3), text.REASON_REMOVE_ALL, "remove all data")

    steady = sorted(at_t2 & at_t3 - early_leavers - late_leavers)
    interviewees = sorted(rng.sample(steady, 4))
    next(p for p in people if p.id == interviewees[1]).quotation = False  # consented, but not to quotation
    present = [i for i in sorted(at_t2) if i not in (stopped, *early_leavers)]
    attendees = sorted(rng.sample(present, 6))
    return Plan(people, interviewees, attendees, rng)


# --- quantitative files -------------------------------------------------------------------------


def _csv(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _latent(plan: Plan, people: list[Person], weight: float = 0.75) -> list[float]:
    """Person trait plus wave noise: scores correlate within a person across waves."""
    noise = math.sqrt(1 - weight**2)
    return [weight * p.trait + noise * plan.rng.gauss(0, 1) for p in people]


def _items_for_sums(
    plan: Plan,
    instrument: Instrument,
    score_id: str,
    people: list[Person],
    sums: list[int],
) -> dict[str, dict[str, int]]:
    score = instrument.score(score_id)
    response = instrument.response_for(instrument.item(score.items[0]))
    rows = {}
    for person, total in zip(people, sums, strict=True):
        values = split_sum(total, len(score.items), response.min, response.max, plan.rng)
        rows[person.id] = dict(zip(score.items, values, strict=True))
    return rows


def _measure_rows(
    plan: Plan,
    instrument: Instrument,
    answers: dict[tuple[str, str], dict[str, int | None]],
) -> str:
    header = ["participant_id", "wave", "completed_on", *instrument.item_ids]
    rows = []
    for wave in WAVES:
        for person in plan.respondents(wave.id):
            cells = answers[(person.id, wave.id)]
            rows.append(
                [
                    person.id,
                    wave.id,
                    person.waves[wave.id].isoformat(),
                    *(cells.get(i) for i in instrument.item_ids),
                ]
            )
    return _csv(header, rows)


def _fitted_instrument(plan: Plan, instrument: Instrument, cells: list[Cell]) -> str:
    """Items whose subscale (or total) scores reproduce the given cells; missing items give the cell n."""
    answers: dict[tuple[str, str], dict[str, int | None]] = {}
    for wave in WAVES:
        for person in plan.respondents(wave.id):
            answers[(person.id, wave.id)] = {}
    for score in instrument.scores:
        response = instrument.response_for(instrument.item(score.items[0]))
        k = len(score.items)
        for wave in WAVES:
            cell = next(
                c for c in cells if c.construct == f"{instrument.id}.{score.id}" and c.wave == wave.id
            )
            twins = [p for p in plan.respondents(wave.id) if p.id != WITHDRAWN]
            scored = sorted(plan.rng.sample(twins, cell.n), key=lambda p: p.id)
            target = Target(
                cell.n, cell.mean, cell.sd or 0.6, cell.mean_decimals, cell.sd_decimals, cell.low, cell.high
            )
            sums = fit_sums(
                _latent(plan, scored),
                target,
                scale=1 if score.method == "sum" else k,
                lo=response.min * k,
                hi=response.max * k,
                rng=plan.rng,
            )
            for pid, items in _items_for_sums(plan, instrument, score.id, scored, sums).items():
                answers[(pid, wave.id)].update(items)
            # Respondents outside the cell left an item of this score blank (item-level missingness).
            for person in twins:
                if person not in scored:
                    typical = round(cell.mean) if score.method == "mean" else round(cell.mean / k)
                    given = {
                        i: min(response.max, max(response.min, typical + plan.rng.randint(-1, 1)))
                        for i in score.items
                    }
                    given[plan.rng.choice(score.items)] = None
                    answers[(person.id, wave.id)].update(given)
            if wave.id in plan.person(WITHDRAWN).waves:
                mean = cell.mean * (1 if score.method == "sum" else k)
                spread = (cell.sd or 0.6) * (1 if score.method == "sum" else k)
                total = round(mean + spread * plan.rng.gauss(0, 1))
                total = min(response.max * k, max(response.min * k, total))
                answers[(WITHDRAWN, wave.id)].update(
                    _items_for_sums(plan, instrument, score.id, [plan.person(WITHDRAWN)], [total])[WITHDRAWN]
                )
    return _measure_rows(plan, instrument, answers)


def _burnout(plan: Plan, instrument: Instrument) -> str:
    """CBI items from each person's strain: invented levels with a rise at 4 months."""
    answers: dict[tuple[str, str], dict[str, int | None]] = {}
    for wave in WAVES:
        means = CBI_MEANS[wave.id]
        for person in plan.respondents(wave.id):
            row: dict[str, int | None] = {}
            for index, score in enumerate(instrument.scores):
                level = means[min(index, len(means) - 1)] + CBI_SD * (
                    0.7 * person.strain + 0.7 * plan.rng.gauss(0, 1)
                )
                for item_id in score.items:
                    item = instrument.item(item_id)
                    response = instrument.response_for(item)
                    wanted = level + plan.rng.gauss(0, 12)
                    row[item_id] = min(
                        range(response.min, response.max + 1),
                        key=lambda c: abs(response.value(c, reverse=item.reverse) - wanted),
                    )
            answers[(person.id, wave.id)] = row
    return _measure_rows(plan, instrument, answers)


def _participants(plan: Plan) -> str:
    rows = [
        [p.id, "peer worker", "peer support worker", p.site, p.enrolled_on.isoformat(), p.gender, p.age]
        for p in plan.people
    ]
    for (_tid, held_on, members), roles in zip(FOCUS_GROUPS, text.FG_ROLES, strict=True):
        for pid, (role, gender, age) in zip(members, roles, strict=True):
            rows.append(
                [pid, "non-peer professional", role, None, _fg_enrolled(held_on).isoformat(), gender, age]
            )
    return _csv(["participant_id", "group", "role", "site", "enrolled_on", "gender", "age"], rows)


def _fg_enrolled(held_on: dt.date) -> dt.date:
    return held_on - dt.timedelta(days=7)  # consented a week before the group: its T1 window holds the date


def _employment(plan: Plan) -> str:
    rows = []
    for wave in WAVES:
        for person in plan.people:
            recorded = _target(person, wave) + dt.timedelta(days=plan.rng.randrange(0, 15))
            if person.id == WITHDRAWN:  # one record, made with the T1 questionnaires
                if wave.id != "T1":
                    continue
                recorded = person.waves["T1"]
            if person.withdrawn and recorded >= person.withdrawn[0]:
                continue
            employed, contract, hours = person.employment[wave.id]
            rows.append(
                [
                    person.id,
                    wave.id,
                    recorded.isoformat(),
                    "true" if employed else "false",
                    "peer support worker" if employed else None,
                    contract,
                    f"{hours:g}",
                ]
            )
    return _csv(
        [
            "participant_id",
            "wave",
            "recorded_on",
            "employed_as_peer_worker",
            "role",
            "contract",
            "hours_per_week",
        ],
        rows,
    )


# --- governance ---------------------------------------------------------------------------------


def _consent(plan: Plan, interviews: dict[str, dt.date]) -> str:
    rows = []
    for person in plan.people:
        rows.append(
            [
                person.id,
                "1.0",
                (person.enrolled_on - dt.timedelta(days=10)).isoformat(),
                "yes",
                "yes",
                "yes" if person.quotation else None,
                "yes",
                "yes" if plan.rng.random() < 0.8 else None,
            ]
        )
    # Interviewees re-consented on form 2.0 (approved by the amendment) before their 12-month interview.
    for pid in plan.interviewees:
        person = plan.person(pid)
        rows.append(
            [
                pid,
                "2.0",
                (interviews[pid] - dt.timedelta(days=14)).isoformat(),
                "yes",
                "yes",
                "yes" if person.quotation else None,
                "yes",
                "yes",
            ]
        )
    for _tid, held_on, members in FOCUS_GROUPS:
        for pid in members:
            rows.append([pid, "2.0", _fg_enrolled(held_on).isoformat(), "yes", "yes", "yes", "yes", None])
    rows.sort(key=lambda r: (r[0], r[2]))
    return _csv(
        [
            "participant_id",
            "form_version",
            "consented_on",
            "participate",
            "audio_recording",
            "direct_quotation",
            "archiving",
            "future_contact",
        ],
        rows,
    )


def _withdrawals(plan: Plan) -> str:
    rows = [
        [p.id, p.withdrawn[0].isoformat(), p.withdrawn[1], p.withdrawn[2]] for p in plan.people if p.withdrawn
    ]
    return _csv(["participant_id", "withdrawn_on", "reason", "scope"], rows)


def _ethics() -> str:
    data = {
        "approvals": [
            {
                "committee": text.COMMITTEE,
                "reference": "SYN-REC-0001",
                "approved_on": ETHICS_APPROVED,
                "expires_on": ETHICS_EXPIRES,
                "consent_forms": ["1.0"],
                "documents": [
                    "Participant information sheet v1.0",
                    "Consent form v1.0",
                    "Interview topic guide v1.0",
                    "Questionnaire pack v1.0",
                ],
                "amendments": [
                    {
                        "reference": "SYN-REC-0001/AM01",
                        "approved_on": AMENDMENT_APPROVED,
                        "consent_forms": ["2.0"],
                        "documents": [
                            "Participant information sheet v2.0",
                            "Consent form v2.0",
                            "Focus group topic guide v1.0",
                        ],
                    }
                ],
            }
        ],
    }
    return text.ETHICS_HEAD + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# --- qualitative files --------------------------------------------------------------------------


def _qualitative(plan: Plan) -> tuple[dict[str, str], dict[str, dt.date]]:
    """Transcripts, codebook, segments, themes and propositions; also the 12-month interview dates."""
    from studykit.qual.transcripts import render_transcript

    files: dict[str, str] = {}
    segments: list[list[object]] = []
    t3_interviews: dict[str, dt.date] = {}

    def add(front: dict, turns: list[tuple[str, str, str | None]], coder: str) -> None:
        body, spans = text.compose(turns)
        files[f"data/qualitative/transcripts/{front['id']}.md"] = render_transcript(front, body)
        for start, end, code in spans:
            segments.append([f"S{len(segments) + 1:04d}", front["id"], start, end, code, coder, None])

    used: dict[str, set[int]] = {}
    for number, pid in enumerate(plan.interviewees):
        person = plan.person(pid)
        for wave in WAVES:
            held = (
                person.enrolled_on + dt.timedelta(days=plan.rng.randrange(7, 29))
                if wave.id == "T1"
                else _target(person, wave) + dt.timedelta(days=plan.rng.randrange(0, 29))
            )
            if wave.id == "T3":
                t3_interviews[pid] = held
            turns = text.interview(pid, wave.id, plan.rng, used.setdefault(pid, set()))
            front = {
                "id": f"INT-{pid}-{wave.id}",
                "kind": "interview",
                "wave": wave.id,
                "date": held,
                "interviewer": "SR1" if number % 2 == 0 else "SR2",
                "participants": [pid],
                "duration_minutes": 35 + plan.rng.randrange(25),
            }
            add(front, turns, "SR1" if number < 2 else "SR2")
    for (tid, held_on, members), script in zip(FOCUS_GROUPS, text.FOCUS_GROUPS, strict=True):
        front = {
            "id": tid,
            "kind": "focus group",
            "wave": "T1",
            "date": held_on,
            "interviewer": "SR2",
            "participants": list(members),
            "duration_minutes": 70 + plan.rng.randrange(20),
        }
        add(front, text.focus_group(members, script), "SR2")
    front = {
        "id": "EVENT-1",
        "kind": "event notes",
        "wave": "T2",
        "date": EVENT_DATE,
        "interviewer": "SR1",
        "participants": plan.event_attendees,
        "duration_minutes": 180,
    }
    add(front, text.event_notes(plan.event_attendees), "SR1")

    files["data/qualitative/codebook.csv"] = _csv(
        ["code_id", "name", "parent", "definition"],
        [[c.id, c.name, c.parent, c.definition] for c in text.CODEBOOK],
    )
    files["data/qualitative/segments.csv"] = _csv(
        ["segment_id", "transcript", "start", "end", "code", "coder", "memo"], segments
    )
    files["data/qualitative/themes.yml"] = text.THEMES_HEAD + yaml.safe_dump(
        text.THEMES, sort_keys=False, allow_unicode=True, width=100
    )
    files["data/qualitative/propositions.yml"] = text.PROPOSITIONS_HEAD + yaml.safe_dump(
        text.PROPOSITIONS, sort_keys=False, allow_unicode=True, width=100
    )
    return files, t3_interviews


# --- the whole example --------------------------------------------------------------------------


def _instrument_file(instrument_id: str) -> str:
    head = text.MJS_HEAD if instrument_id == "mjs" else text.TEAM_HEAD
    return head["comment"] + yaml.safe_dump(
        _definition(instrument_id), sort_keys=False, allow_unicode=True, width=100
    )


def example_files(seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Every file of the example, keyed by its path in a study folder (POSIX), as text."""
    plan = _plan(seed)
    wemwbs, cbi = load_library_instrument("wemwbs"), load_library_instrument("cbi")
    cells = [*PUBLISHED[:-1], *INVENTED]
    files = {
        "data/participants.csv": _participants(plan),
        "data/measures/wemwbs.csv": _fitted_instrument(plan, wemwbs, cells),
        "data/measures/cbi.csv": _burnout(plan, cbi),
        "data/measures/mjs.csv": _fitted_instrument(plan, study_instrument("mjs"), cells),
        "data/measures/team.csv": _fitted_instrument(plan, study_instrument("team"), cells),
        "data/employment.csv": _employment(plan),
    }
    qualitative, t3_interviews = _qualitative(plan)
    files.update(qualitative)
    files["governance/consent.csv"] = _consent(plan, t3_interviews)
    files["governance/withdrawals.csv"] = _withdrawals(plan)
    files["governance/ethics.yml"] = _ethics()
    files["instruments/mjs.yml"] = _instrument_file("mjs")
    files["instruments/team.yml"] = _instrument_file("team")
    return dict(sorted(files.items()))


def _holds_data(path: Path) -> bool:
    """True when a file has content beyond an empty template (a CSV header, an empty YAML list)."""
    if not path.is_file():
        return False
    content = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".csv":
        return len([line for line in content.splitlines() if line.strip()]) > 1
    if path.suffix in (".yml", ".yaml") and path.parent.name != "instruments":
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError:
            return True
        return bool(data) and data != {"approvals": []}
    return bool(content.strip())


def _check_design(study: Study) -> None:
    def waves(items: Iterable[Wave]) -> str:
        return ", ".join(f"{w.id} at {w.offset_months} months" for w in items)

    missing = [i for i in INSTRUMENTS if i not in study.instruments]
    if [(w.id, w.offset_months) for w in study.waves] != [(w.id, w.offset_months) for w in WAVES] or missing:
        msg = (
            f"does not fit the example study, which needs waves {waves(WAVES)} and instruments "
            f"{', '.join(INSTRUMENTS)} (this study has waves {waves(study.waves)} and instruments "
            f"{', '.join(study.instruments) or 'none'})"
        )
        raise StudyConfigError(
            msg,
            path=study.study_file,
            key="waves" if not missing else "instruments",
            fix="Bake a new study with include_example_data=yes, or change its waves and instruments.",
        )


def write_example(target_dir: Path, *, seed: int = DEFAULT_SEED, replace: bool = False) -> list[Path]:
    """Write the synthetic example's data files into the study folder ``target_dir``.

    Refuses (``ExistingDataError``) when a file it would write already holds data, or
    other transcripts are present, unless ``replace`` is true: then it overwrites its
    files and deletes transcripts it does not write (its codes would not cover them).
    Checks first that study.yml has the example's design.
    Returns the paths written, sorted.
    """
    target_dir = Path(target_dir)
    _check_design(load_study(target_dir))
    files = example_files(seed)
    transcripts = target_dir / "data" / "qualitative" / "transcripts"
    others = sorted(p for p in transcripts.glob("*.md") if p.relative_to(target_dir).as_posix() not in files)
    if not replace:
        occupied = sorted(
            rel
            for rel in files
            if _holds_data(target_dir / rel)
            and (target_dir / rel).read_text(encoding="utf-8", errors="replace") != files[rel]
        )
        occupied += [p.relative_to(target_dir).as_posix() for p in others]
        if occupied:
            shown = ", ".join(occupied[:3]) + (f" and {len(occupied) - 3} more" if len(occupied) > 3 else "")
            msg = f"already holds data the example would overwrite or mix with ({shown})"
            raise ExistingDataError(
                msg,
                path=target_dir,
                fix="Use an empty study, or pass --replace to overwrite the example's files.",
            )
    for path in others:  # with replace: the example's coding would not cover them
        path.unlink()
    written = []
    for rel, content in files.items():
        path = target_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="")
        written.append(path)
    return written


def filtered_scores(study: Study, instrument_ids: list[str]) -> dict[tuple[str, str], list[float]]:
    """Scores per (instrument.score, wave) after the consent filter (purpose: analysis)."""
    from studykit.governance.consent_filter import ConsentFilter
    from studykit.instruments import load_instrument
    from studykit.instruments.scoring import measure_types, score_frame
    from studykit.tables import read_typed

    consent = ConsentFilter.from_study(study)
    values: dict[tuple[str, str], list[float]] = {}
    for instrument_id in instrument_ids:
        instrument = load_instrument(study, instrument_id)
        path = study.measures_path(instrument_id)
        frame = read_typed(path, measure_types(instrument))
        kept = consent.filter(
            frame, resource=f"data/measures/{path.name}", purpose="analysis", date_column="completed_on"
        )
        scored = score_frame(instrument, kept)
        for score in instrument.scores:
            for wave, value in zip(scored["wave"].to_list(), scored[score.id].to_list(), strict=True):
                if value is not None:
                    values.setdefault((f"{instrument_id}.{score.id}", wave), []).append(value)
    return values


def table3_comparison(study: Study) -> list[dict]:
    """Published Table 3 next to the twin's n, mean and SD, after the consent filter.

    One dict per published cell: construct, wave, published_n, published_mean,
    published_sd (None where the table is cut off), twin_n, twin_mean, twin_sd
    (sample SD, n - 1).
    """
    scores = filtered_scores(study, list(dict.fromkeys(c.construct.split(".")[0] for c in PUBLISHED)))
    rows = []
    for cell in PUBLISHED:
        values = scores.get((cell.construct, cell.wave), [])
        mean = sum(values) / len(values) if values else None
        sd = (
            math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            if mean is not None and len(values) > 1
            else None
        )
        rows.append(
            {
                "construct": cell.construct,
                "wave": cell.wave,
                "published_n": cell.n,
                "published_mean": cell.mean,
                "published_sd": cell.sd,
                "twin_n": len(values),
                "twin_mean": mean,
                "twin_sd": sd,
            }
        )
    return rows
