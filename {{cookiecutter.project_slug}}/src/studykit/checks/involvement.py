"""Governance layer, public involvement: governance/involvement.yml against its schema (codes INV###).

A malformed entry is a finding with the file, the entry and field (``column``, as
``activities[2].nature``) and the YAML line (``row``). A GRIPP2 short-form item the log
leaves empty is a warning, so the report never omits an item silently. A study without
the file gets no finding here: its report says it keeps no involvement log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.errors import StudykitError
from studykit.files import study_relative
from studykit.governance.audit import read_audit_lines
from studykit.governance.gripp2 import ITEM_KEYS, ITEMS, item_status, one_sided_outcomes
from studykit.governance.involvement import (
    STANDARDS,
    Involvement,
    LogProblem,
    missing_standards,
    named_without_agreement,
    read_involvement,
    reference_problems,
)

MALFORMED = Rule(
    "INV001",
    "governance",
    "Involvement log malformed",
    "error",
    "An entry of governance/involvement.yml does not follow the log's schema (an unknown key, a value "
    "outside its vocabulary, a date that is not YYYY-MM-DD, a required field left out), or the file is not "
    "valid YAML.",
    "Correct the field named at the line given; docs/involvement.md lists every key and vocabulary.",
)
UNKNOWN_ID = Rule(
    "INV002",
    "governance",
    "Involvement id unknown or repeated",
    "error",
    "An activity, impact or reflection names a contributor or activity id the log does not define, or two "
    "entries share an id.",
    "Add the contributor (or activity) to the log, or correct the id.",
)
NAMED_WITHOUT_AGREEMENT = Rule(
    "INV003",
    "governance",
    "Contributor named without agreement",
    "error",
    "A contributor's name is written in the log although agreed_to_be_named is not true. Contributor names "
    "are personal data: the report shows a name only with the contributor's agreement, and the log should "
    "not keep a name it may not use.",
    "Delete the name, or record the contributor's agreement (agreed_to_be_named: true) once they have "
    "given it.",
)
GRIPP2_ITEM_EMPTY = Rule(
    "INV004",
    "governance",
    "GRIPP2 item not reported",
    "warning",
    "The log leaves a GRIPP2 short-form item empty (aim, activities, impacts, influence or reflections), so "
    "the report's GRIPP2 table says the item is not reported.",
    "Fill the key named in governance/involvement.yml (ideally with the contributors themselves).",
)
ONE_SIDED_OUTCOMES = Rule(
    "INV005",
    "governance",
    "No negative outcome of involvement recorded",
    "warning",
    "Every recorded impact is positive. GRIPP2 items 3 and 4 ask for positive and negative outcomes and "
    "effects; reporting only the positive ones is a known weakness of involvement reporting.",
    "Record what did not work or made things harder as an impact with valence negative or mixed.",
)
STANDARDS_INCOMPLETE = Rule(
    "INV006",
    "governance",
    "UK Standards self-assessment incomplete",
    "warning",
    "The log holds a self-assessment against the UK Standards for Public Involvement but leaves some of the "
    "six standards out; the report shows them as not recorded.",
    "Assess every standard (status met, partly met, not met or not assessed), or remove the standards key.",
)
PARTICIPANT_ID = Rule(
    "INV007",
    "governance",
    "Contributor id is a participant id",
    "warning",
    "A contributor's pseudonymous id is also an id in data/participants.csv. Involvement records kept under "
    "a participant id can be linked to that person's research data, and the report would show the id.",
    "Give the contributor a pseudonym of their own (C01, LX-01), also when they are a participant too.",
)
AUDITED_ACTIVITY_MISSING = Rule(
    "INV008",
    "governance",
    "Audited activity missing from the log",
    "error",
    "governance/audit.log records an activity added with studykit involvement add that the log no longer "
    "holds as recorded: it was deleted or changed by hand.",
    "Put the activity back as the audit entry records it; record a correction as a new activity.",
)
register(MALFORMED, UNKNOWN_ID, NAMED_WITHOUT_AGREEMENT, GRIPP2_ITEM_EMPTY, ONE_SIDED_OUTCOMES,
         STANDARDS_INCOMPLETE, PARTICIPANT_ID, AUDITED_ACTIVITY_MISSING)  # fmt: skip


def check(run: Run) -> Iterator[Finding]:
    found = read_involvement(run.study)
    if not found.exists:
        return
    if found.log is None:
        yield from _findings(found, MALFORMED, found.problems)
        return
    log = found.log
    yield from _findings(found, UNKNOWN_ID, reference_problems(log))
    yield from _findings(found, NAMED_WITHOUT_AGREEMENT, named_without_agreement(log))
    yield from _empty_items(found)
    if one_sided_outcomes(log):
        yield ONE_SIDED_OUTCOMES.finding(
            f"all {len(log.impacts)} recorded impact(s) are positive", file=found.label,
            row=found.line(("impacts",)), column="impacts",
        )  # fmt: skip
    yield from _participant_ids(run, found)
    yield from _audited_activities(run, found)
    missing = missing_standards(log)
    if missing:
        names = ", ".join(STANDARDS[key] for key in missing)
        yield STANDARDS_INCOMPLETE.finding(f"the self-assessment leaves out {names}", file=found.label,
                                           row=found.line(("standards",)), column="standards")  # fmt: skip


def _findings(found: Involvement, rule: Rule, problems: Iterable[LogProblem]) -> Iterator[Finding]:
    for problem in problems:
        placed = found.place(problem) if problem.line is None else problem
        yield rule.finding(
            placed.sentence(),
            file=found.label,
            row=placed.line,
            column=placed.where if placed.loc else None,
            value=placed.value,
        )


def _empty_items(found: Involvement) -> Iterator[Finding]:
    assert found.log is not None
    items = {number: item for number, _, item, *_ in ITEMS}
    for number, topic, held in item_status(found.log):
        if held:
            continue
        key = ITEM_KEYS[number]
        yield GRIPP2_ITEM_EMPTY.finding(
            f"GRIPP2 item {number} ({topic}: {items[number]}) has nothing to report: {key} is empty",
            file=found.label,
            row=found.line((key,)),
            column=key,
        )


def _participant_ids(run: Run, found: Involvement) -> Iterator[Finding]:
    assert found.log is not None
    path = run.study.participants_path
    try:
        table = run.read_table(path, file_label=study_relative(run.study, path), columns=["participant_id"])
    except StudykitError:
        return  # the structure layer reports an unreadable participants.csv
    participants = set(table.frame.get_column("participant_id").drop_nulls().str.strip_chars())
    for index, contributor in enumerate(found.log.contributors):
        if contributor.id in participants:
            problem = found.place(LogProblem(("contributors", index, "id"),
                                             f"{contributor.id} is also a participant id", contributor.id))
            yield PARTICIPANT_ID.finding(problem.sentence(), file=found.label, row=problem.line,
                                         column=problem.where, value=contributor.id)  # fmt: skip


def _audited_activities(run: Run, found: Involvement) -> Iterator[Finding]:
    assert found.log is not None
    try:
        entries = read_audit_lines(run.study.audit_log_path)
    except StudykitError:
        return  # the governance layer reports an unreadable audit log
    held = [a.model_dump(mode="json") for a in found.log.activities]
    for number, entry in entries:
        record = entry.get("record")
        if entry.get("action") != "involvement add" or not isinstance(record, dict):
            continue
        if record in held:
            held.remove(record)  # the n-th audited copy answers the n-th one in the log
            continue
        yield AUDITED_ACTIVITY_MISSING.finding(
            f"the activity {record.get('id')} of {record.get('date')}, audited on line {number} of "
            "governance/audit.log, is not in the log as recorded",
            file=found.label, row=found.line(("activities",)), column="activities", value=record.get("id"),
        )  # fmt: skip
