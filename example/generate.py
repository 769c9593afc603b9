"""The synthetic example study: a seeded twin of a published 32-peer-worker study.

``example_files(seed)`` returns every file of the example as text, keyed by its path in
a study folder; ``tests/regenerate.py`` (``nox -s fragments``) writes them under the
template's ``.bake/example/``, which the post-gen hook lays over a study baked with
``include_example_data=yes``. This generator lives in the template, outside the study's
package: a baked study holds the files, never the code that made them.

Everything is invented and deterministic (same seed, same bytes; fixed dates, no clock).
After the consent filter the twin reproduces the published Table 3 of Gillard et al.
2022 (BMC Psychiatry, doi:10.1186/s12888-022-03999-9): n per wave and cell, and the
means and SDs of WEMWBS and of the job-satisfaction and team-working subscales, at the
precision printed there (``data/table3.yml``; ``tests/test_example.py`` checks it).
How it is made and what is invented: docs/example-study.md in the study template.

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
from studykit.instruments import Instrument, load_library_instrument
from studykit.instruments.model import parse_definition
from studykit.qual.transcripts import render_transcript
from studykit.study import Wave

from example import sources, transcripts
from example.fit import Target, fit_sums, split_sum
from example.sources import Cell

DEFAULT_SEED = 2022
WAVES = (
    Wave(id="T1", label="after training", offset_months=0),
    Wave(id="T2", label="4 months", offset_months=4),
    Wave(id="T3", label="12 months", offset_months=12),
)
PEER_WORKERS = 32
WITHDRAWN = "P033"  # the extra participant who withdraws with "remove all data"
COHORTS = (dt.date(2024, 1, 15), dt.date(2024, 2, 12), dt.date(2024, 3, 11))
EVENT_DATE = dt.date(2024, 7, 1)
SITES = ("S1", "S2", "S3", "S4")


# --- the study-defined instruments (item structure not public: counts invented) ---------------


def _definition(instrument_id: str) -> dict:
    """The example's own instrument definition (mjs or team) as plain data."""
    head = sources.load("instruments")[instrument_id]
    table3 = sources.load("table3")
    items, number = {}, 0
    for subscale in head["subscales"]:
        items[subscale["id"]] = [f"item_{number + i:02d}" for i in range(1, subscale["items"] + 1)]
        number += subscale["items"]
    norms = []
    for subscale in head["subscales"]:
        norm = sources.norm(f"{instrument_id}.{subscale['id']}")
        if norm is None:
            continue
        norms.append(
            {
                "score": subscale["id"],
                "population": head["norm_population"],
                "mean": sources.printed(norm["mean"])[0],
                "sd": sources.printed(norm["sd"])[0],
                "source": f"{table3['source']} (norm column). doi:{table3['doi']}",
                "unit": "item mean",
                "verified": True,
                "note": norm.get("note", "As printed in Table 3; the norm's own source was not retrieved."),
            }
        )
    return {
        "id": instrument_id,
        "name": head["name"],
        "version": "example (item structure invented)",
        "construct": head["construct"],
        "citation": head["citation"],
        "licence": {"item_text_allowed": False, "note": head["licence"]},
        "response": {"min": 1, "max": 5, "labels": head["labels"]},
        "items": [
            {"id": item, "label": f"{score_id} {index}"}
            for score_id, ids in items.items()
            for index, item in enumerate(ids, start=1)
        ],
        "scores": [
            {
                "id": subscale["id"],
                "name": subscale["name"],
                "items": items[subscale["id"]],
                "method": "mean",
                "range": [1, 5],
                "decimals": 4,
                "note": " ".join(
                    ["Mean of the subscale's items; every item must be answered.", subscale.get("note", "")]
                ).strip(),
            }
            for subscale in head["subscales"]
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
    table1 = sources.cell("age", "T1", sources.load("table3")["age"])  # Table 1: age at T1
    target = Target(table1.n, table1.mean, table1.sd, table1.mean_decimals, table1.sd_decimals)
    with_age = rng.sample(range(PEER_WORKERS), table1.n)
    ages = fit_sums([rng.gauss(0, 1) for _ in with_age], target, scale=1, lo=25, hi=62, rng=rng)
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
    reasons = sources.load("people")["withdrawal_reasons"]
    scope = "no further data"
    person.withdrawn = (person.waves["T1"] + dt.timedelta(days=45), reasons[scope], scope)
    # Within the policy's removal window of every collection (consent included), so that under the
    # default withdrawal policy (retain_collected, 14 days) the consent filter removes all of it.
    person = people[-1]
    scope = "remove all data"
    person.withdrawn = (person.enrolled_on + dt.timedelta(days=3), reasons[scope], scope)

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


def _fitted_instrument(plan: Plan, instrument: Instrument, cells: tuple[Cell, ...]) -> str:
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
    """CBI items from each person's strain: invented levels with a rise at 4 months (invented.yml)."""
    invented = sources.load("invented")["cbi"]
    answers: dict[tuple[str, str], dict[str, int | None]] = {}
    for wave in WAVES:
        means = invented["means"][wave.id]
        for person in plan.respondents(wave.id):
            row: dict[str, int | None] = {}
            for score in instrument.scores:
                level = means[score.id] + invented["sd"] * (
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
    for group in sources.load("focus-groups"):
        enrolled = _fg_enrolled(group["held_on"]).isoformat()
        for m in group["members"]:
            rows.append([m["id"], "non-peer professional", m["role"], None, enrolled, m["gender"], m["age"]])
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
    for group in sources.load("focus-groups"):
        for m in group["members"]:
            rows.append(
                [m["id"], "2.0", _fg_enrolled(group["held_on"]).isoformat(), "yes", "yes", "yes", "yes", None]
            )
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
    # The data protection officer decided to erase the "remove all data" request ten days after it
    # came, so the tutorial can run studykit consent erase --apply on it.
    rows = [
        [p.id, p.withdrawn[0].isoformat(), p.withdrawn[1], p.withdrawn[2], *_decision(p.withdrawn)]
        for p in plan.people
        if p.withdrawn
    ]
    header = ["participant_id", "withdrawn_on", "reason", "scope", "decision", "decided_by", "decided_on"]
    return _csv(header, rows)


def _decision(withdrawn: tuple[dt.date, str, str]) -> list[str]:
    if withdrawn[2] != "remove all data":
        return ["", "", ""]
    return ["erase", "Data Protection Officer", (withdrawn[0] + dt.timedelta(days=10)).isoformat()]


# --- qualitative files --------------------------------------------------------------------------


def _qualitative(plan: Plan) -> tuple[dict[str, str], dict[str, dt.date]]:
    """Transcripts and coded segments; also the 12-month interview dates."""
    files: dict[str, str] = {}
    segments: list[list[object]] = []
    t3_interviews: dict[str, dt.date] = {}

    def add(front: dict, turns: list[transcripts.Turn], coder: str) -> None:
        body, spans = transcripts.compose(turns)
        files[f"data/qualitative/transcripts/{front['id']}.md"] = render_transcript(front, body)
        for start, end, code in spans:
            segments.append([f"S{len(segments) + 1:04d}", front["id"], start, end, code, coder, None])

    used: dict[str, set[tuple[str, int]]] = {}
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
            turns = transcripts.interview(pid, wave.id, plan.rng, used.setdefault(pid, set()))
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
    for group in sources.load("focus-groups"):
        members = [m["id"] for m in group["members"]]
        front = {
            "id": group["id"],
            "kind": "focus group",
            "wave": "T1",
            "date": group["held_on"],
            "interviewer": "SR2",
            "participants": members,
            "duration_minutes": 70 + plan.rng.randrange(20),
        }
        add(front, transcripts.spoken(group["script"], members), "SR2")
    front = {
        "id": "EVENT-1",
        "kind": "event notes",
        "wave": "T2",
        "date": EVENT_DATE,
        "interviewer": "SR1",
        "participants": plan.event_attendees,
        "duration_minutes": 180,
    }
    add(front, transcripts.spoken(sources.load("event-notes"), plan.event_attendees), "SR1")
    files["data/qualitative/segments.csv"] = _csv(
        ["segment_id", "transcript", "start", "end", "code", "coder", "memo"], segments
    )
    return files, t3_interviews


# --- the whole example --------------------------------------------------------------------------


def _instrument_file(instrument_id: str) -> str:
    comment = sources.load("instruments")[instrument_id]["comment"]
    definition = _definition(instrument_id)
    return comment + yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)


def _published() -> str:
    """reports/published.yml: the published Table 3 (n, mean, SD per wave as printed), from table3.yml."""
    table3 = sources.load("table3")
    scores = {
        construct: {"name": row["name"]}
        | {wave: {k: row[wave][k] for k in ("n", "mean", "sd")} for wave in sources.WAVE_IDS if row.get(wave)}
        for construct, row in table3["scores"].items()
    }
    head = (
        "# The published numbers `studykit results` sets beside this study's own (tbl-published).\n"
        "# Written by the template's example generator from its table3.yml; n, mean and SD per wave\n"
        "# as printed (quoted, so the printed precision is kept). Format: docs/report.md.\n"
    )
    body = {"source": table3["source"], "doi": table3["doi"], "scores": scores}
    return head + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def example_files(seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Every file of the example, keyed by its path in a study folder (POSIX), as text."""
    plan = _plan(seed)
    wemwbs, cbi = load_library_instrument("wemwbs"), load_library_instrument("cbi")
    cells = sources.fitted()
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
    files["instruments/mjs.yml"] = _instrument_file("mjs")
    files["instruments/team.yml"] = _instrument_file("team")
    files["reports/published.yml"] = _published()
    files.update(sources.fixed_files())
    return dict(sorted(files.items()))
