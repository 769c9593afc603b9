"""The frame-based registers, GOV### checks and consent filter agree with a plain row-by-row reading.

The consent register is read, checked and filtered over whole columns. Here a generated
study (hundreds of participants, several consent events each, withdrawals of both scopes,
unapproved forms, consent after withdrawal, participants missing from either side, data
before consent, after withdrawal and outside the approval period) is run through studykit
and through a reference written below with the csv module and plain loops, which must give
the same findings in the same order, the same filtered rows and the same answers. Malformed
registers must raise the error a row-by-row reader meets first. Every id and date is invented.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from studykit.checks.governance import check
from studykit.checks.run import Run
from studykit.errors import RegisterError
from studykit.governance.consent_filter import ConsentFilter
from studykit.governance.coverage import in_force
from studykit.governance.registers import (
    ConsentEvent,
    Registers,
    Withdrawal,
    load_registers,
    read_consent,
    read_consent_frame,
)
from studykit.study import load_study
from studykit.tables import cast, read_text_table

from .governance_study import APPROVAL, CONSENT_HEADER, MEASURES_FILE, TODAY, make_study

SCOPES = ("participate", "audio_recording", "direct_quotation", "archiving", "future_contact")
START = dt.date(2023, 11, 1)
POLICIES = {
    "retain_collected": {"policy": "retain_collected", "removal_window_days": 30},
    "delete_unanalysed": {"policy": "delete_unanalysed", "analysed_on": dt.date(2024, 6, 1)},
    "delete_all": {"policy": "delete_all"},
}


# --- a generated study ---------------------------------------------------------------------------


def _day(rng: random.Random, last: int = 1200) -> dt.date:
    return START + dt.timedelta(days=rng.randint(0, last))


def _cell(rng: random.Random, ticked: bool) -> str:
    return rng.choice(["yes", "yes", "Yes", "YES"]) if ticked else rng.choice(["", "", "no", "No"])


def generated_study(tmp_path: Path, seed: int, policy: dict | None = None, people: int = 160) -> Path:
    """A study whose registers and data break every GOV rule somewhere, rows shuffled."""
    rng = random.Random(seed)
    consent, withdrawals, measures, enrolled = [], [], {}, []
    for number in range(1, people + 1):
        pid = f"P{number:04d}"
        kind = rng.random()
        if kind < 0.9:
            enrolled.append(pid)  # the rest consented but are not in participants.csv
        if kind > 0.08:  # the first few are enrolled without any consent event
            for offset in sorted(rng.sample(range(500), rng.choice([1, 1, 2, 3, 4]))):
                form = rng.choice(["1.0", "2.0", "3.0"]) if rng.random() < 0.3 else "1.0"
                ticks = [rng.random() < 0.85] + [rng.random() < 0.6 for _ in SCOPES[1:]]
                cells = ",".join(_cell(rng, t) for t in ticks)
                consent.append(f"{pid},{form},{START + dt.timedelta(days=offset)},{cells}")
        chance = rng.random()
        if chance < 0.12:
            withdrawals.append(f"{pid},{_day(rng, 700)},moved away,no further data")
        if 0.08 < chance < 0.18:
            withdrawals.append(f"{pid},{_day(rng, 700)},,remove all data")
        for wave in range(rng.choice([0, 1, 2, 3, 4])):
            when = _day(rng) if rng.random() > 0.04 else rng.choice(["", "2024-02-30"])
            measures[f"{pid} {wave}"] = f"{pid},T{wave % 2 + 1},{when},3"
    for extra in range(4):  # rows of nobody in the registers, or of nobody at all
        measures[f"extra {extra}"] = f"{rng.choice(['Q9999', ''])},T1,{_day(rng)},2"
    withdrawals.append(f"Z0001,{_day(rng)},,no further data")  # never consented, never enrolled
    # Boundaries: the same day as a consent, a withdrawal, the analysis date or the removal window.
    enrolled += ["B001", "B002", "B003"]
    consent += [
        "B001,1.0,2024-03-01,yes,,,,",
        "B001,1.0,2024-05-01,yes,,,,",  # on the day of the withdrawal
        "B002,1.0,2024-03-01,yes,,,,",
        "B003,1.0,2024-03-01,yes,,,,",
    ]
    withdrawals += [
        "B001,2024-05-01,,no further data",
        "B002,2024-06-20,,remove all data",
        "B003,2024-03-01,,no further data",  # on the day of the first consent
    ]
    for day in ("2024-02-29", "2024-03-01", "2024-04-30", "2024-05-01"):
        measures[f"B001 {day}"] = f"B001,T1,{day},1"
    for day in ("2024-05-20", "2024-05-21", "2024-05-22", "2024-06-01", "2024-06-02"):
        measures[f"B002 {day}"] = f"B002,T1,{day},1"
    rng.shuffle(consent)
    rng.shuffle(withdrawals)
    rows = list(measures.items())
    rng.shuffle(rows)
    rng.shuffle(enrolled)
    enrolled.append(enrolled[0])  # listed twice
    participants = "participant_id,group,role,site,enrolled_on,gender,age\n" + "".join(
        f"{pid},peer worker,,S1,2024-02-01,,30\n" for pid in [*enrolled, ""]
    )
    transcripts = {
        f"INT-{pid}-T1": {"date": _day(rng), "participants": [pid]}
        for pid in rng.sample([f"P{n:04d}" for n in range(1, people + 1)], 6)
    }
    return make_study(
        tmp_path,
        consent={str(i): row for i, row in enumerate(consent)},
        withdrawals=tuple(withdrawals),
        measures=dict(rows),
        participants=participants,
        transcripts=transcripts,
        withdrawal_policy=policy,
    )


# --- the reference: csv module and plain loops ---------------------------------------------------


@dataclass(frozen=True)
class Event:
    pid: str
    form: str
    on: dt.date
    scopes: frozenset[str]
    row: int


@dataclass(frozen=True)
class Quit:
    pid: str
    on: dt.date
    scope: str
    row: int


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


class Reference:
    """The governance rules applied one row at a time to the study's files."""

    def __init__(self, root: Path, policy: dict | None) -> None:
        self.root = root
        self.policy = {"policy": "retain_collected", "removal_window_days": 14, **(policy or {})}
        self.events = [
            Event(
                r["participant_id"],
                r["form_version"],
                dt.date.fromisoformat(r["consented_on"]),
                frozenset(s for s in SCOPES if r[s].lower() == "yes"),
                index + 2,
            )
            for index, r in enumerate(_rows(root / "governance/consent.csv"))
        ]
        self.quits = [
            Quit(r["participant_id"], dt.date.fromisoformat(r["withdrawn_on"]), r["scope"], index + 2)
            for index, r in enumerate(_rows(root / "governance/withdrawals.csv"))
        ]

    # one participant
    def history(self, pid: str) -> list[Event]:
        return sorted((e for e in self.events if e.pid == pid), key=lambda e: e.on)

    def quits_of(self, pid: str) -> list[Quit]:
        return sorted((w for w in self.quits if w.pid == pid), key=lambda w: w.on)

    def in_force_event(self, pid: str, day: dt.date) -> Event | None:
        earlier = [e for e in self.history(pid) if e.on <= day]
        return earlier[-1] if earlier else None

    def quit_by(self, pid: str, day: dt.date) -> Quit | None:
        return next((w for w in self.quits_of(pid) if w.on <= day), None)

    def removal(self, pid: str) -> Quit | None:
        return next((w for w in self.quits_of(pid) if w.scope == "remove all data"), None)

    def first_consent(self, pid: str) -> dt.date | None:
        history = self.history(pid)
        return history[0].on if history else None

    def removes(self, pid: str, day: dt.date | None) -> bool:
        removal = self.removal(pid)
        if removal is None:
            return False
        day = day or self.first_consent(pid)
        if self.policy["policy"] == "delete_all" or day is None:
            return True
        if self.policy["policy"] == "delete_unanalysed":
            analysed = self.policy.get("analysed_on")
            return analysed is None or removal.on <= analysed or day > analysed
        return (removal.on - day).days <= self.policy["removal_window_days"]

    def participates(self, pid: str, day: dt.date) -> bool:
        event = self.in_force_event(pid, day)
        return event is not None and "participate" in event.scopes and self.quit_by(pid, day) is None

    def allows_now(self, pid: str, scope: str) -> bool:
        history = self.history(pid)
        if not history or scope not in history[-1].scopes:
            return False
        if scope in ("participate", "audio_recording", "future_contact"):
            return not self.quits_of(pid)
        return self.removal(pid) is None

    # ethics (governance_study.APPROVAL: form 1.0, then 2.0 from its amendment)
    @staticmethod
    def covers(day: dt.date) -> bool:
        return APPROVAL["approved_on"] <= day <= APPROVAL["expires_on"]

    @staticmethod
    def approved_forms(day: dt.date) -> list[str]:
        amendment = APPROVAL["amendments"][0]
        extra = amendment["consent_forms"] if day >= amendment["approved_on"] else []
        return sorted([*APPROVAL["consent_forms"], *extra])

    # the checks, in the order studykit reports them
    def findings(self, transcripts: list[tuple[str, str, dt.date]]) -> list[tuple]:
        found: list[tuple] = []
        for e in self.events:
            quit_ = self.quit_by(e.pid, e.on)
            if quit_:
                message = f"{e.pid} consented on {e.on} but withdrew ({quit_.scope}) on {quit_.on}"
                found.append(("GOV010", "governance/consent.csv", e.row, "consented_on", str(e.on), message))
        for w in self.quits:
            if self.in_force_event(w.pid, w.on) is None:
                message = f"{w.pid} withdrew on {w.on}, before any consent event"
                found.append(
                    ("GOV012", "governance/withdrawals.csv", w.row, "withdrawn_on", str(w.on), message)
                )
        for e in self.events:
            if not self.covers(e.on):
                why = "no ethics approval period covers that date"
            elif e.form in self.approved_forms(e.on):
                continue
            else:
                why = f"approved versions then: {', '.join(self.approved_forms(e.on))}"
            message = f"{e.pid} consented on {e.on} with form {e.form}; {why}"
            found.append(("GOV004", "governance/consent.csv", e.row, "form_version", e.form, message))
        for file, column in ((MEASURES_FILE, "completed_on"), ("data/employment.csv", "recorded_on")):
            for index, r in enumerate(_rows(self.root / file)):
                day = _date(r[column])
                if r["participant_id"] and day:
                    found += self.collection(r["participant_id"], day, file, index + 2, column)
        for file, pid, day in transcripts:
            found += self.collection(pid, day, file, None, "participants")
        return found + self.enrolment()

    def collection(self, pid: str, day: dt.date, file: str, row: int | None, column: str) -> list[tuple]:
        value = str(day) if row else pid
        found = []
        quit_, event = self.quit_by(pid, day), self.in_force_event(pid, day)
        if quit_:
            message = f"{pid}'s data dated {day} come after their withdrawal ({quit_.scope}) on {quit_.on}"
            found.append(("GOV003", file, row, column, value, message))
        elif event is None:
            first = self.first_consent(pid)
            later = f"their first consent is dated {first}" if first else "no consent event"
            found.append(
                (
                    "GOV002",
                    file,
                    row,
                    column,
                    value,
                    f"{pid}'s data dated {day} come before any consent; {later}",
                )
            )
        elif "participate" not in event.scopes:
            message = (
                f"{pid}'s consent in force on {day} (form {event.form}, {event.on}) "
                "does not include participate"
            )
            found.append(("GOV002", file, row, column, value, message))
        if not self.covers(day):
            message = f"{pid}'s data dated {day} fall outside every ethics approval period"
            found.append(("GOV005", file, row, column, value, message))
        removal = self.removal(pid)
        if removal and self.removes(pid, day):
            message = f"{pid} asked to remove all data on {removal.on}; this is still in data/"
            found.append(("GOV007", file, row, "participant_id" if row else column, pid, message))
        return found

    def enrolment(self) -> list[tuple]:
        found = []
        enrolled = [
            (i + 2, r["participant_id"]) for i, r in enumerate(_rows(self.root / "data/participants.csv"))
        ]
        enrolled = [(row, pid) for row, pid in enrolled if pid]
        for row, pid in enrolled:
            if not self.history(pid):
                found.append(
                    (
                        "GOV009",
                        "data/participants.csv",
                        row,
                        "participant_id",
                        pid,
                        f"{pid} has no consent event",
                    )
                )
            elif self.removes(pid, None):
                message = f"{pid} asked to remove all data; their participants.csv row is still here"
                found.append(("GOV007", "data/participants.csv", row, "participant_id", pid, message))
        ids = {pid for _, pid in enrolled}
        for file, entries in (
            ("governance/consent.csv", self.events),
            ("governance/withdrawals.csv", self.quits),
        ):
            told = set()
            for entry in entries:
                if entry.pid not in ids and entry.pid not in told and self.removal(entry.pid) is None:
                    told.add(entry.pid)
                    message = f"{entry.pid} is not in data/participants.csv"
                    found.append(("GOV008", file, entry.row, "participant_id", entry.pid, message))
        return found


def _transcripts(root: Path) -> list[tuple[str, str, dt.date]]:
    found = []
    for path in sorted((root / "data/qualitative/transcripts").glob("*.md")):
        front = path.read_text(encoding="utf-8").split("---")[1]
        day = dt.date.fromisoformat(re.search(r"date: (\S+)", front).group(1))
        pid = re.search(r"participants:\s*- (\S+)", front).group(1)
        found.append((path.relative_to(root).as_posix(), pid, day))
    return found


# --- findings, filter and per-participant answers ------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "policy"), [(1, "retain_collected"), (2, "delete_unanalysed"), (3, "delete_all")]
)
def test_gov_findings_match_a_row_by_row_reading(tmp_path: Path, seed: int, policy: str) -> None:
    root = generated_study(tmp_path, seed, POLICIES[policy])
    study = load_study(root)
    found = [(f.code, f.file, f.row, f.column, f.value, f.message) for f in check(Run(study), today=TODAY)]
    expected = Reference(root, POLICIES[policy]).findings(_transcripts(root))
    assert found == expected
    # Every rule is exercised by the generated study.
    assert {code for code, *_ in found} >= {f"GOV00{n}" for n in (2, 3, 4, 5, 7, 8, 9)} | {"GOV010", "GOV012"}


def _measure_rows(root: Path) -> pl.DataFrame:
    frame = read_text_table(root / MEASURES_FILE).frame
    return cast(frame, {"completed_on": "date"})[0].with_row_index("n")


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("purpose", ["analysis", "quotation", "deposit"])
@pytest.mark.parametrize("dated", [True, False])
def test_consent_filter_matches_a_row_by_row_reading(
    tmp_path: Path, policy: str, purpose: str, dated: bool
) -> None:
    root = generated_study(tmp_path, 4, POLICIES[policy])
    frame = _measure_rows(root)
    consent = ConsentFilter.from_study(load_study(root))
    kept = consent.filter(frame, resource="m", purpose=purpose, date_column="completed_on" if dated else None)

    reference = Reference(root, POLICIES[policy])
    scope = {"quotation": "direct_quotation", "deposit": "archiving"}.get(purpose)
    rules = {"removal_requested": [], "no_consent_at_collection": []}
    if scope:
        rules[f"no_{'quotation' if scope == 'direct_quotation' else 'archiving'}_consent"] = []
    expected = []
    for n, pid, day in frame.select("n", "participant_id", "completed_on").iter_rows():
        day = day if dated else None
        # A dated table's row without a readable date is never covered; a row of an undated
        # table is judged at the participant's first consent.
        judged_on = day if dated else (pid and reference.first_consent(pid))
        removal = pid is not None and reference.removal(pid) is not None
        drops = [
            removal and (reference.removes(pid, day) if purpose == "analysis" else True),
            pid is None or judged_on is None or not reference.participates(pid, judged_on),
        ]
        if scope:
            drops.append(pid is None or not reference.allows_now(pid, scope))
        dropped_by = next((rule for rule, drop in zip(rules, drops, strict=True) if drop), None)
        if dropped_by:
            rules[dropped_by].append(pid)
        else:
            expected.append(n)
    assert kept.get_column("n").to_list() == expected
    assert [(e.rule, e.participants, e.rows) for e in consent.exclusions] == [
        (rule, len(set(pids)), len(pids)) for rule, pids in rules.items() if pids
    ]


def test_registers_answer_as_a_row_by_row_reading(tmp_path: Path) -> None:
    root = generated_study(tmp_path, 5)
    registers = load_registers(load_study(root))
    reference = Reference(root, None)
    # The same registers built from ConsentEvent objects (as tests and small callers do).
    from_objects = Registers(
        consent=[ConsentEvent(e.pid, e.form, e.on, e.scopes, e.row) for e in reference.events],
        withdrawals=registers.withdrawals,
        ethics=registers.ethics,
    )
    as_event = lambda e: e and (e.participant_id, e.form_version, e.consented_on, e.scopes, e.row)  # noqa: E731
    as_ref = lambda e: e and (e.pid, e.form, e.on, e.scopes, e.row)  # noqa: E731
    assert [as_event(e) for e in registers.consent] == [as_ref(e) for e in reference.events]
    assert registers.participants == {e.pid for e in reference.events} | {w.pid for w in reference.quits}
    days = [START + dt.timedelta(days=d) for d in range(0, 760, 19)]
    for pid in sorted(registers.participants | {"P0001", "Q9999"}):
        for regs in (registers, from_objects):
            assert [as_event(e) for e in regs.events(pid)] == [as_ref(e) for e in reference.history(pid)]
            assert as_event(regs.latest(pid)) == as_ref((reference.history(pid) or [None])[-1])
            removal = regs.removal(pid)
            assert (removal and (removal.withdrawn_on, removal.row)) == (
                reference.removal(pid) and (reference.removal(pid).on, reference.removal(pid).row)
            )
            # in_force over every (participant, day) at once, against the reference one at a time.
            grid = pl.DataFrame(
                {"participant_id": [pid] * len(days), "day": days},
                schema={"participant_id": pl.String, "day": pl.Date},
            )
            judged = in_force(grid, regs).iter_rows(named=True)
            for day, answer in zip(days, judged, strict=True):
                assert (answer["verdict"] == "covered") == reference.participates(pid, day)
                quit_ = reference.quit_by(pid, day)
                assert answer["withdrawn_on"] == (quit_ and quit_.on)
                if answer["verdict"] != "covered":  # details are given for every row not covered
                    event = reference.in_force_event(pid, day)
                    assert (answer["consented_on"], answer["form_version"]) == (
                        (event.on, event.form) if event else (None, None)
                    )


def test_read_consent_and_the_frame_hold_the_same_events(tmp_path: Path) -> None:
    root = generated_study(tmp_path, 6, people=40)
    path = root / "governance/consent.csv"
    frame = read_consent_frame(path)
    events = read_consent(path)
    assert frame.height == len(events) == len(Reference(root, None).events)
    rebuilt = [
        ConsentEvent(
            pid, form, on, frozenset(s for s, ticked in zip(SCOPES, ticks, strict=True) if ticked), row
        )
        for pid, form, on, *ticks, row in frame.iter_rows()
    ]
    assert list(events) == rebuilt
    assert Registers(consent=events).consent_frame.equals(frame)


def test_narrowed_registers_answer_the_same_about_their_participants(tmp_path: Path) -> None:
    registers = load_registers(load_study(generated_study(tmp_path, 7, people=60)))
    chosen = sorted(registers.participants)[::7]
    narrowed = registers.for_participants(chosen)
    assert narrowed.participants == set(chosen)
    for pid in chosen:
        assert narrowed.events(pid) == registers.events(pid)
        assert narrowed.withdrawals_of(pid) == registers.withdrawals_of(pid)


# --- malformed registers: the first bad row wins ------------------------------------------------


def reference_consent_error(text: str) -> tuple[str, int, str] | None:
    """(message, row, field) of the first problem a row-by-row reading of consent.csv meets.

    As studykit does: a cell that is not a date anywhere comes first (dates are parsed before
    the rows are read); then row by row: participant id, form version, date, scopes, repeat.
    """
    rows = list(csv.DictReader(text.splitlines()))
    for index, r in enumerate(rows):
        if r["consented_on"] and _date(r["consented_on"]) is None:
            return f"{r['consented_on']!r} is not a date", index + 2, "consented_on"
    seen: dict[tuple[str, str], int] = {}
    for index, r in enumerate(rows):
        row, pid = index + 2, r["participant_id"]
        if not pid:
            return "is blank but required", row, "participant_id"
        if not re.match(r"^[A-Z]{1,4}[0-9]{2,6}$", pid):
            return f"{pid!r} is not a participant id", row, "participant_id"
        if not r["form_version"]:
            return "is blank but required", row, "form_version"
        if not r["consented_on"]:
            return "is blank but required", row, "consented_on"
        for scope in SCOPES:
            if r[scope].lower() not in ("", "yes", "no"):
                return f"{r[scope]!r} is not yes or blank", row, scope
        key = (pid, r["consented_on"])
        if key in seen:
            message = f"a second consent event for {pid} on {key[1]} (the first is row {seen[key]})"
            return message, row, "consented_on"
        seen[key] = row
    return None


def _consent_text(people: int = 30) -> list[list[str]]:
    return [
        [f"P{n:03d}", "1.0", str(START + dt.timedelta(days=n)), "yes", "", "Yes", "no", "YES"]
        for n in range(1, people + 1)
    ]


def _write(tmp_path: Path, cells: list[list[str]]) -> Path:
    path = tmp_path / "consent.csv"
    path.write_text(CONSENT_HEADER + "".join(",".join(r) + "\n" for r in cells), encoding="utf-8")
    return path


def _raised(path: Path) -> tuple[str, int | None, str | None]:
    with pytest.raises(RegisterError) as caught:
        read_consent_frame(path, "governance/consent.csv")
    with pytest.raises(RegisterError) as again:
        read_consent(path, "governance/consent.csv")
    assert (again.value.message, again.value.row, again.value.field) == (
        caught.value.message,
        caught.value.row,
        caught.value.field,
    )
    return caught.value.message, caught.value.row, caught.value.field


def _bad_id(r: list[str]) -> None:
    r[0] = "p-7"


def _blank_id(r: list[str]) -> None:
    r[0] = ""


def _blank_version(r: list[str]) -> None:
    r[1] = ""


def _bad_date(r: list[str]) -> None:
    r[2] = "31/12/2024"


def _blank_date(r: list[str]) -> None:
    r[2] = ""


def _bad_scope(r: list[str]) -> None:
    r[6] = "Y"


FAULTS = [_bad_id, _blank_id, _blank_version, _bad_date, _blank_date, _bad_scope]


CASES = {
    # (row index 0-based -> faults), expected (row, field)
    "bad id before a blank version": ({3: [_bad_id], 5: [_blank_version]}, (5, "participant_id")),
    "blank version before a bad id": ({2: [_blank_version], 7: [_bad_id]}, (4, "form_version")),
    "id before version in one row": ({4: [_blank_version, _blank_id]}, (6, "participant_id")),
    "date before scopes in one row": ({4: [_bad_scope, _blank_date]}, (6, "consented_on")),
    "scope in the last row": ({29: [_bad_scope]}, (31, "archiving")),
    "an unparseable date anywhere comes first": ({1: [_bad_id], 20: [_bad_date]}, (22, "consented_on")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_consent_register_error_is_the_first_bad_row(tmp_path: Path, case: str) -> None:
    faults, expected = CASES[case]
    cells = _consent_text()
    for index, changes in faults.items():
        for change in changes:
            change(cells[index])
    path = _write(tmp_path, cells)
    message, row, field = _raised(path)
    assert (row, field) == expected
    assert (message, row, field) == reference_consent_error(path.read_text(encoding="utf-8"))


def test_repeated_participant_day_names_the_first_row(tmp_path: Path) -> None:
    cells = _consent_text()
    cells[9][0], cells[9][2] = cells[3][0], cells[3][2]  # row 11 repeats row 5
    _bad_scope(cells[12])  # a later problem does not win
    assert _raised(_write(tmp_path, cells)) == (
        "a second consent event for P004 on 2023-11-05 (the first is row 5)",
        11,
        "consented_on",
    )
    _bad_scope(cells[9])  # a problem in the repeating row itself comes first
    assert _raised(_write(tmp_path, cells))[1:] == (11, "archiving")


@pytest.mark.parametrize("seed", range(12))
def test_random_faults_raise_what_a_row_by_row_reading_meets_first(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    cells = _consent_text(200)
    for _ in range(rng.choice([1, 2, 3])):
        target = rng.randrange(len(cells))
        if rng.random() < 0.25:
            source = rng.randrange(len(cells))
            cells[target][0], cells[target][2] = cells[source][0], cells[source][2]
        else:
            rng.choice(FAULTS)(cells[target])
    path = _write(tmp_path, cells)
    expected = reference_consent_error(path.read_text(encoding="utf-8"))
    if expected is None:  # a row repeated onto itself: nothing wrong
        assert read_consent_frame(path).height == len(cells)
    else:
        assert _raised(path) == expected


def test_registers_from_withdrawals_only_still_answer(tmp_path: Path) -> None:
    registers = Registers(withdrawals=[Withdrawal("P001", dt.date(2024, 3, 1), "remove all data")])
    assert registers.consent == ()
    assert registers.consent_frame.height == 0
    assert registers.participants == {"P001"}
    assert registers.events("P001") == []
    assert registers.removal("P001").withdrawn_on == dt.date(2024, 3, 1)
    frame = pl.DataFrame({"participant_id": ["P001", None]}, schema={"participant_id": pl.String})
    assert ConsentFilter(registers).filter(frame, resource="m", purpose="analysis").height == 0
