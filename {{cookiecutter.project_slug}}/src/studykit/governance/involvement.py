"""Public involvement: ``governance/involvement.yml``, read and checked, and its audited ``add``.

The log says who was involved (contributors as pseudonymous ids with a role), what they
did (activities by date, stage of the research and nature of involvement), what it
changed (impacts, positive or negative), what was learned (reflections), and optionally
a self-assessment against the six UK Standards for Public Involvement. It feeds the
GRIPP2 short-form table of the report (``governance.gripp2``).

``read_involvement`` never raises for a bad log: every problem is a ``LogProblem`` with
its place (entry and field, and the YAML line), which validation turns into findings
(``checks.involvement``) and ``add_activity`` into a refusal. Contributor names are
personal data: a contributor is shown by name only when they agreed
(``Contributor.shown``); the name may only be written down when they did.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studykit._yaml import SAFE_LOADER, load_yaml, shown
from studykit.errors import RegisterError
from studykit.files import study_relative
from studykit.study import Study, error_sentence

INVOLVEMENT_FILE = "involvement.yml"
DOC = "See the comments in governance/involvement.yml and docs/involvement.md."

Role = Literal[
    "peer researcher",
    "lived-experience advisory group",
    "lived-experience co-investigator",
    "steering group",
    "public contributor",
]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
Stage = Literal[
    "priority setting",
    "design",
    "materials",
    "recruitment",
    "data collection",
    "analysis",
    "interpretation",
    "dissemination",
    "governance",
]
STAGES: tuple[str, ...] = Stage.__args__  # type: ignore[attr-defined]
Nature = Literal["consultation", "collaboration", "co-production", "user-led"]
NATURES: tuple[str, ...] = Nature.__args__  # type: ignore[attr-defined]
Valence = Literal["positive", "negative", "mixed"]
Status = Literal["met", "partly met", "not met", "not assessed"]
STANDARDS: dict[str, str] = {
    "inclusive_opportunities": "Inclusive opportunities",
    "working_together": "Working together",
    "support_and_learning": "Support and learning",
    "communications": "Communications",
    "impact": "Impact",
    "governance": "Governance",
}
"""The six UK Standards for Public Involvement (NIHR and partners, 2019), key -> name."""

ContributorId = Annotated[str, Field(pattern=r"^[A-Z]{1,4}-?[0-9]{1,4}$")]
ActivityId = Annotated[str, Field(pattern=r"^A[0-9]{2,4}$")]
Text = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Contributor(_Model):
    """A member of the public involved in the study, known here by a pseudonymous id."""

    id: ContributorId
    role: Role
    agreed_to_be_named: bool = False
    name: Text | None = None
    also_participant: bool = False

    @property
    def label(self) -> str:
        """Their name when they agreed to be named, else their pseudonym."""
        return self.name if self.agreed_to_be_named and self.name else self.id

    @property
    def shown(self) -> str:
        """How the report names them: their name only when they agreed, else role and pseudonym."""
        if self.agreed_to_be_named and self.name:
            return f"{self.name} ({self.role})"
        return f"{self.role[0].upper()}{self.role[1:]} {self.id}"


class Activity(_Model):
    """One involvement activity: when, at which stage, how deep, who took part, what happened."""

    id: ActivityId
    date: dt.date
    stage: Stage
    nature: Nature
    who: Annotated[list[ContributorId], Field(min_length=1)]
    summary: Text


class Impact(_Model):
    """What involvement changed, the evidence for it, and whether the change was for the better."""

    activity: ActivityId | None = None
    what_changed: Text
    evidence: Text | None = None
    valence: Valence


class Reflection(_Model):
    """A critical reflection on the involvement: what went well and what did not."""

    by: ContributorId | Literal["research team"] | None = None
    text: Text


class Assessment(_Model):
    status: Status
    notes: str | None = None


class Standards(_Model):
    """A self-assessment against the six UK Standards for Public Involvement (each optional here)."""

    inclusive_opportunities: Assessment | None = None
    working_together: Assessment | None = None
    support_and_learning: Assessment | None = None
    communications: Assessment | None = None
    impact: Assessment | None = None
    governance: Assessment | None = None


class InvolvementLog(_Model):
    """governance/involvement.yml."""

    aim: str | None = None
    influence: str | None = None
    contributors: list[Contributor] = []
    activities: list[Activity] = []
    impacts: list[Impact] = []
    reflections: list[Reflection] = []
    standards: Standards | None = None

    def contributor(self, contributor_id: str) -> Contributor | None:
        return next((c for c in self.contributors if c.id == contributor_id), None)

    def shown(self, contributor_id: str) -> str:
        """A contributor as the report names them (an unknown id as itself)."""
        found = self.contributor(contributor_id)
        return found.shown if found is not None else contributor_id


Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LogProblem:
    """One thing wrong in the log: its place (``loc``, the YAML line), what, and the offending value."""

    loc: Loc
    message: str
    value: object = None
    line: int | None = None
    entry: str | None = None  # the id of the list entry the place is in (A03), when it has one

    @property
    def where(self) -> str:
        """The place as ``activities[2].nature`` (``(top level)`` for the file itself)."""
        text = ""
        for part in self.loc:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        return text or "(top level)"

    def sentence(self) -> str:
        """``activities[2].nature (entry A03): should be ...``: the place, the entry's id, the problem."""
        entry = f" (entry {self.entry})" if self.entry else ""
        return f"{self.where}{entry}: {self.message}" if self.loc else self.message


@dataclass(frozen=True)
class Involvement:
    """What ``read_involvement`` found: the log and its problems.

    ``log`` is None when the file is missing or breaks the schema; a log that reads but
    names ids it does not define has its ``log`` and those problems.
    """

    path: Path
    label: str
    exists: bool
    log: InvolvementLog | None = None
    problems: tuple[LogProblem, ...] = ()
    lines: dict[Loc, int] = field(default_factory=dict, repr=False)
    ids: dict[Loc, str] = field(default_factory=dict, repr=False)  # ("activities", 2) -> "A03"

    def line(self, loc: Loc) -> int | None:
        """The YAML line of ``loc``, or of the nearest enclosing entry that has one."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None

    def place(self, problem: LogProblem) -> LogProblem:
        """``problem`` with the YAML line of its place and the id of the entry it is in."""
        return dataclasses.replace(problem, line=self.line(problem.loc), entry=self.ids.get(problem.loc[:2]))


def involvement_path(study: Study) -> Path:
    return study.governance_dir / INVOLVEMENT_FILE


def _lines(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    """The 1-based line of every key and list entry of a composed YAML document."""
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out.setdefault((*loc, key.value), key.start_mark.line + 1)
                _lines(value, (*loc, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*loc, index), out)


def parse_involvement(text: str, path: Path, label: str) -> Involvement:
    """The log in ``text`` with every problem found (never raises for a bad log)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = LogProblem((), f"is not valid YAML ({getattr(exc, 'problem', exc)})",
                             line=mark.line + 1 if mark else None)  # fmt: skip
        return Involvement(path, label, True, problems=(problem,))
    except ValueError:  # YAML read 2024-13-01 as a date that does not exist
        return Involvement(path, label, True, problems=tuple(_impossible_dates(text)))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem = LogProblem((), "is not a mapping of keys (aim, contributors, activities, ...)", shown(data))
        return Involvement(path, label, True, problems=(problem,))
    lines: dict[Loc, int] = {}
    composed = yaml.compose(text, Loader=SAFE_LOADER)  # bounded above: load_yaml accepted it
    if composed is not None:
        _lines(composed, (), lines)
    try:
        log = InvolvementLog.model_validate(data)
    except ValidationError as exc:
        problems = tuple(
            LogProblem(tuple(e["loc"]), error_sentence(e), None if e["type"] == "missing" else e.get("input"))
            for e in exc.errors()
        )
        return _located(Involvement(path, label, True, lines=lines, ids=_ids(data)), problems)
    found = Involvement(path, label, True, log=log, lines=lines, ids=_ids(data))
    return _located(found, reference_problems(log))


def _impossible_dates(text: str) -> list[LogProblem]:
    """Each value YAML takes for a date but no calendar holds (2024-02-30), at its place and line."""
    found: list[LogProblem] = []

    def walk(node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*loc, getattr(key, "value", "?")))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index))
        elif node.tag.endswith(":timestamp"):
            try:
                dt.date.fromisoformat(node.value[:10])
            except ValueError:
                found.append(LogProblem(loc, f"should be a date that exists, written as YYYY-MM-DD, not "
                                        f"{node.value!r}", node.value, node.start_mark.line + 1))  # fmt: skip

    walk(yaml.compose(text, Loader=SAFE_LOADER), ())
    return found or [LogProblem((), "holds a value YAML cannot read")]


def _ids(data: dict) -> dict[Loc, str]:
    """The ``id`` of every list entry that has one: ``("activities", 2) -> "A03"``."""
    ids: dict[Loc, str] = {}
    for key, entries in data.items():
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and entry.get("id") is not None:
                ids[(key, index)] = str(entry["id"])
    return ids


def _located(found: Involvement, problems: Iterable[LogProblem]) -> Involvement:
    """``found`` with ``problems``, each placed (line, entry id)."""
    return dataclasses.replace(found, problems=tuple(found.place(p) for p in problems))


def read_involvement(study: Study) -> Involvement:
    """Read ``governance/involvement.yml``; a missing file is ``exists=False`` with no problems."""
    path = involvement_path(study)
    label = study_relative(study, path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Involvement(path, label, False)
    except (OSError, UnicodeDecodeError) as exc:
        return Involvement(path, label, True, problems=(LogProblem((), f"cannot be read ({exc})"),))
    return parse_involvement(text, path, label)


def reference_problems(log: InvolvementLog) -> list[LogProblem]:
    """Ids given twice, and activities, impacts or reflections naming an id the log does not define."""
    problems: list[LogProblem] = []
    for kind, entries in (("contributors", log.contributors), ("activities", log.activities)):
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            if entry.id in seen:
                problems.append(LogProblem((kind, index, "id"), f"repeats the id {entry.id}; ids are unique",
                                           entry.id))  # fmt: skip
            seen.add(entry.id)
    contributors = {c.id for c in log.contributors}
    activities = {a.id for a in log.activities}
    for index, activity in enumerate(log.activities):
        for position, who in enumerate(activity.who):
            if who not in contributors:
                problems.append(LogProblem(("activities", index, "who", position),
                                           f"names {who}, who is not among the contributors", who))
    for index, impact in enumerate(log.impacts):
        if impact.activity is not None and impact.activity not in activities:
            problems.append(LogProblem(("impacts", index, "activity"),
                                       f"names the activity {impact.activity}, which the log does not hold",
                                       impact.activity))  # fmt: skip
    for index, reflection in enumerate(log.reflections):
        if reflection.by not in (None, "research team") and reflection.by not in contributors:
            problems.append(LogProblem(("reflections", index, "by"),
                                       f"names {reflection.by}, who is not among the contributors",
                                       reflection.by))  # fmt: skip
    return problems


def named_without_agreement(log: InvolvementLog) -> list[LogProblem]:
    """Contributors whose name is written down although they did not agree to be named."""
    message = (
        "has a name but agreed_to_be_named is not true: the report never shows it, and the log should not "
        "keep it"
    )
    return [
        LogProblem(("contributors", index, "name"), f"{c.id} {message}", c.id)
        for index, c in enumerate(log.contributors)
        if c.name and not c.agreed_to_be_named
    ]


def missing_standards(log: InvolvementLog) -> list[str]:
    """The UK Standards a started self-assessment leaves out (none when there is no self-assessment)."""
    if log.standards is None:
        return []
    return [key for key in STANDARDS if getattr(log.standards, key) is None]


# --- the audited add -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityAdded:
    """An activity added to the log, with its audit entry."""

    activity: dict[str, object]
    file: str
    by: str
    at: str

    def to_dict(self) -> dict[str, object]:
        return {"activity": self.activity, "file": self.file, "by": self.by, "at": self.at}


def _refuse(message: str, label: str, *, field: str | None = None, fix: str | None = None) -> RegisterError:
    return RegisterError(f"refused, nothing changed: {message}", path=label, field=field, fix=fix or DOC)


def next_activity_id(log: InvolvementLog) -> str:
    numbers = [int(a.id[1:]) for a in log.activities]
    return f"A{max(numbers, default=0) + 1:02d}"


def _end_of_item(node: yaml.Node) -> int:
    """Where the last value inside a block sequence item ends (before comments that follow it)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark.index


def appended_activity(text: str, item: dict[str, object]) -> str:
    """The log's text with ``item`` added at the end of ``activities``; every other byte kept.

    Comments and layout elsewhere stay as written (a YAML round trip would lose them).
    The caller reads the result back and refuses it unless it holds exactly one more activity.
    """
    composed = yaml.compose(text, Loader=SAFE_LOADER) if text.strip() else None
    node = None
    if isinstance(composed, yaml.MappingNode):
        node = next((v for k, v in composed.value if getattr(k, "value", None) == "activities"), None)
    dumped = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=100, default_flow_style=None)
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        indent = " " * max(node.value[0].start_mark.column - 2, 0)
        block = "".join(indent + line for line in dumped.splitlines(keepends=True))
        end = _end_of_item(node.value[-1])
        if text[end - 1] == "\n":  # a block scalar (>, |) ends at the start of the line after it
            cut = len(text[:end].rstrip())
        else:
            cut = text.find("\n", end)
            cut = len(text) if cut < 0 else cut
        return text[:cut] + "\n" + block.rstrip("\n") + text[cut:]
    if node is not None:  # `activities: []` or `activities:` with nothing: the new list replaces it
        if isinstance(node, yaml.ScalarNode) and node.value == "":
            key_end = next(k for k, v in composed.value if v is node).end_mark.index  # type: ignore[union-attr]
            colon = text.index(":", key_end) + 1
            return text[:colon] + "\n" + dumped.rstrip("\n") + text[colon:]
        start, end = node.start_mark.index, node.end_mark.index
        return text[:start].rstrip(" ") + "\n" + dumped.rstrip("\n") + text[end:]
    separator = "" if not text or text.endswith("\n") else "\n"
    return text + separator + "activities:\n" + dumped


def add_activity(
    study: Study,
    *,
    on: dt.date,
    stage: str,
    nature: str,
    who: list[str],
    summary: str,
    by: str | None = None,
    now: dt.datetime | None = None,
) -> ActivityAdded:
    """Append an activity to governance/involvement.yml and audit it (one unit, under the lock).

    Refused, with nothing changed, when the log is missing or has problems, when the
    activity is not valid (stage, nature, a date in the future, an unknown contributor),
    or when the edited file would not read back as the same log plus this activity.
    """
    from studykit.governance.audit import AuditEntry, appended_log, timestamp, utc_now
    from studykit.governance.audit import who as author_of
    from studykit.governance.journal import edit_lock, write_together

    now = now or utc_now()
    path = involvement_path(study)
    label = study_relative(study, path)
    author = author_of(study, by)
    if on > now.date():
        msg = f"the date {on} is in the future"
        raise _refuse(msg, label, field="date", fix="Use the real date.")
    with edit_lock(study):
        if not path.is_file():
            msg = "there is no involvement log yet"
            fix = "Create governance/involvement.yml with its contributors (docs/involvement.md)."
            raise _refuse(msg, label, fix=fix)
        text = path.read_text(encoding="utf-8")
        found = parse_involvement(text, path, label)
        if found.problems or found.log is None:
            first = found.problems[0]
            msg = f"the log has {len(found.problems)} problem(s) to fix first; {first.sentence()}"
            raise _refuse(msg, label, field=first.where, fix="Run studykit validate and correct them.")
        log = found.log
        item: dict[str, object] = {"id": next_activity_id(log), "date": on, "stage": stage, "nature": nature,
                                   "who": list(dict.fromkeys(who)), "summary": " ".join(summary.split())}
        try:
            activity = Activity.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            msg = f"{name} {error_sentence(error)}"
            raise _refuse(msg, label, field=name) from exc
        unknown = [c for c in activity.who if log.contributor(c) is None]
        if unknown:
            known = ", ".join(c.id for c in log.contributors) or "none yet"
            msg = f"{', '.join(unknown)} is not among the contributors (known: {known})"
            fix = "Add the contributor to governance/involvement.yml first."
            raise _refuse(msg, label, field="who", fix=fix)
        new_text = appended_activity(text, item)
        record = activity.model_dump(mode="json")
        entry = AuditEntry(at=timestamp(now), by=author, action="involvement add", register=label,
                           participant_id="", record=record, previous=None)

        def check(staged: dict[Path, Path]) -> None:
            after = parse_involvement(staged[path].read_text(encoding="utf-8"), path, label)
            expected = log.model_copy(update={"activities": [*log.activities, activity]})
            if after.problems or after.log != expected:
                msg = "studykit could not add the activity without changing the rest of the file"
                raise _refuse(msg, label, fix="Add it by hand at the end of the activities list.")

        audit = study.audit_log_path
        files = {path: new_text.encode("utf-8"), audit: appended_log(audit, entry)}
        write_together(study, files, check=check)
    return ActivityAdded(record, label, author, entry.at)


# --- the team's view -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InvolvementSummary:
    """``studykit involvement show``: the log as the team sees it (ids, names kept out)."""

    file: str
    exists: bool
    problems: int
    contributors: list[dict[str, object]]
    activities: list[dict[str, object]]
    impacts: dict[str, int]
    reflections: int
    gripp2: list[dict[str, object]]
    standards: dict[str, str | None] | None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def involvement_summary(study: Study) -> InvolvementSummary:
    """What the log holds and which GRIPP2 items it leaves empty. Contributors by id and role only."""
    from studykit.governance.gripp2 import item_status

    found = read_involvement(study)
    log = found.log or InvolvementLog()
    counts = {v: sum(i.valence == v for i in log.impacts) for v in ("positive", "negative", "mixed")}
    standards = None
    if log.standards is not None:
        standards = {name: getattr(getattr(log.standards, key), "status", None)
                     for key, name in STANDARDS.items()}  # fmt: skip
    return InvolvementSummary(
        file=found.label,
        exists=found.exists,
        problems=len(found.problems),
        contributors=[
            {"id": c.id, "role": c.role, "named": c.agreed_to_be_named and bool(c.name),
             "also_participant": c.also_participant}
            for c in log.contributors
        ],
        activities=[a.model_dump(mode="json") for a in log.activities],
        impacts=counts,
        reflections=len(log.reflections),
        gripp2=[{"item": n, "topic": topic, "reported": reported} for n, topic, reported in item_status(log)],
        standards=standards,
    )
