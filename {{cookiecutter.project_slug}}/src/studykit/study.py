"""study.yml -> a typed ``Study``: the design every other step reads.

``load_study`` is the one loader. It reads the file, validates it with pydantic
models (unknown keys are errors), and turns any problem into a ``StudyConfigError``
that names the file, the key and what is expected: never a pydantic dump.
The ``Study`` also knows where each file of the study lives, so paths are
written once, here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from studykit._yaml import YAMLTooLargeError, load_yaml, read_yaml_text, shown, yaml_fix
from studykit.errors import StudyConfigError
from studykit.files import LINK_OUTSIDE_FIX, leads_out_of_study, link_outside_sentence

STUDY_FILE = "study.yml"
# A pseudonymous participant id (P001, SITE0042): the one definition, used by the data
# package's Table Schema, the registers, transcripts' speaker labels and the exchange formats.
PARTICIPANT_ID_PATTERN = r"^[A-Z]{1,4}[0-9]{2,6}$"
PARTICIPANT_ID = re.compile(PARTICIPANT_ID_PATTERN)
Strand = Literal["interviews", "focus groups", "event notes"]
ArchiveTarget = Literal["UK Data Service", "Zenodo", "OSF", "institutional"]
AccessTier = Literal["open", "safeguarded", "controlled", "internal"]
TIERS: tuple[AccessTier, ...] = ("open", "safeguarded", "controlled", "internal")
"""In order of restriction: a deposit for one tier holds the resources at or below it."""
PersonalData = Literal["none", "pseudonymised", "identifiable"]
ConsentScope = Literal["participate", "audio_recording", "direct_quotation", "archiving", "future_contact"]
RESOURCE_KINDS = (
    "participants", "employment", "measures", "codebook", "segments", "transcripts", "governance"
)  # fmt: skip
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Model):
    """Days before and after a wave's target date within which collection counts for that wave."""

    before: int = Field(14, ge=0)
    after: int = Field(60, ge=0)


class Wave(_Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
    label: str
    offset_months: int = Field(ge=0)
    window_days: Window = Window()

    def target_date(self, enrolled_on: dt.date) -> dt.date:
        """Enrolment date plus the wave's offset in calendar months."""
        month_index = enrolled_on.month - 1 + self.offset_months
        year, month = enrolled_on.year + month_index // 12, month_index % 12 + 1
        day = min(enrolled_on.day, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day)

    def window(self, enrolled_on: dt.date) -> tuple[dt.date, dt.date]:
        """First and last date (inclusive) on which this wave may be collected."""
        target = self.target_date(enrolled_on)
        return (
            target - dt.timedelta(days=self.window_days.before),
            target + dt.timedelta(days=self.window_days.after),
        )


class Licences(_Model):
    data: str
    code: str


class Strands(_Model):
    quantitative: bool = True
    qualitative: list[Strand] = []


class Access(_Model):
    """How one resource may be shared: the ``access`` of each resource in datapackage.json."""

    tier: AccessTier
    personal_data: PersonalData
    consent_scope: ConsentScope | None = "archiving"
    conditions: str = ""
    embargo_until: dt.date | None = None


class AccessOverride(_Model):
    """study.yml ``archive.resources.<kind or resource>``: the keys that differ from the default."""

    tier: AccessTier | None = None
    personal_data: PersonalData | None = None
    consent_scope: ConsentScope | None = None
    conditions: str | None = None
    embargo_until: dt.date | None = None


TIER_CONDITIONS: dict[str, str] = {
    "open": "Open access under the data licence; no registration.",
    "safeguarded": "Registered users who accept the repository's end user licence (UK Data Service "
    "safeguarded terms or equivalent): no attempt to identify anyone, no onward sharing.",
    "controlled": "Not shipped in deposits. Access only through a controlled (secure) service after "
    "approval; apply to the study team.",
    "internal": "Never deposited: used by the study team only.",
}
# Per kind of resource (docs/deposit.md); study.yml archive.resources overrides them.
ACCESS_DEFAULTS: dict[str, Access] = {
    "participants": Access(tier="safeguarded", personal_data="pseudonymised"),
    "employment": Access(tier="safeguarded", personal_data="pseudonymised"),
    "measures": Access(tier="safeguarded", personal_data="pseudonymised"),
    "codebook": Access(tier="open", personal_data="none", consent_scope=None),
    "segments": Access(tier="safeguarded", personal_data="pseudonymised"),
    "transcripts": Access(tier="controlled", personal_data="identifiable"),
    "governance": Access(tier="internal", personal_data="identifiable", consent_scope=None),
}


def resource_kind(name: str) -> str:
    """The kind of a data package resource (``measures-wemwbs`` is a ``measures``)."""
    return "measures" if name.startswith("measures-") else name


class Creator(_Model):
    name: Annotated[str, Field(min_length=1)]
    orcid: Annotated[str, Field(pattern=r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")] | None = None
    affiliation: str = ""


class Archive(_Model):
    target: ArchiveTarget
    access: AccessTier = "safeguarded"
    # Labelled files a deposit carries next to the CSV (studykit.export): spss, stata or both.
    labelled_exports: list[Literal["spss", "stata"]] = []
    # Access per kind of resource (participants, measures, transcripts...) or per resource name.
    resources: dict[str, AccessOverride] = {}
    creators: list[Creator] = []
    keywords: list[str] = []


class Withdrawal(_Model):
    """What happens to data collected before a withdrawal (see docs/governance.md)."""

    policy: Literal["retain_collected", "delete_unanalysed", "delete_all"] = "retain_collected"
    removal_window_days: int = Field(14, ge=0)
    # delete_unanalysed: data collected on or before this date count as analysed and are kept.
    analysed_on: dt.date | None = None


class Governance(_Model):
    withdrawal: Withdrawal = Withdrawal()
    ethics_expiry_warning_days: int = Field(60, ge=0)
    identity_key: Path | None = None


class Analysis(_Model):
    """How the report's statistics are adjusted and labelled (see docs/report.md)."""

    # holm: family-wise error (Holm 1979); bh: false discovery rate (Benjamini-Hochberg 1995).
    adjustment: Literal["holm", "bh"] = "holm"
    # true: the tests are exploratory; the report says so and leads with effect sizes and CIs.
    exploratory: bool = False


class Study(_Model):
    title: Annotated[str, Field(min_length=1)]
    slug: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")]
    version: str = "0.1.0"
    synthetic: bool = False
    description: str = ""
    principal_investigator: str
    institution: str
    contact_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")]
    licences: Licences
    waves: Annotated[list[Wave], Field(min_length=1)]
    instruments: list[Identifier] = []
    strands: Strands = Strands()
    archive: Archive
    governance: Governance = Governance()
    analysis: Analysis = Analysis()
    root: Path = Field(Path(), exclude=True)

    @field_validator("waves")
    @classmethod
    def _distinct_waves(cls, waves: list[Wave]) -> list[Wave]:
        ids = [w.id for w in waves]
        if len(set(ids)) != len(ids):
            msg = f"wave ids must be distinct, got {ids}"
            raise ValueError(msg)
        offsets = [w.offset_months for w in waves]
        if offsets != sorted(set(offsets)):
            msg = f"wave offsets must increase, got {offsets}"
            raise ValueError(msg)
        return waves

    @model_validator(mode="after")
    def _distinct_instruments(self) -> Study:
        if len(set(self.instruments)) != len(self.instruments):
            msg = f"instruments are listed twice: {self.instruments}"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _known_access_keys(self) -> Study:
        known = {*RESOURCE_KINDS, *(f"measures-{i}" for i in self.instruments)}
        unknown = sorted(set(self.archive.resources) - known)
        if unknown:
            kinds = ", ".join(RESOURCE_KINDS)
            msg = f"archive.resources names {unknown}; use a kind ({kinds}) or measures-<id>"
            raise ValueError(msg)
        return self

    def access_for(self, resource: str) -> Access:
        """The access of a resource: its kind's default, then study.yml for the kind, then for the name."""
        kind = resource_kind(resource)
        access = ACCESS_DEFAULTS.get(kind, Access(tier="internal", personal_data="identifiable"))
        for key in dict.fromkeys((kind, resource)):
            override = self.archive.resources.get(key)
            if override is not None:
                access = access.model_copy(update=override.model_dump(exclude_none=True))
        if not access.conditions:
            access = access.model_copy(update={"conditions": TIER_CONDITIONS[access.tier]})
        return access

    def wave(self, wave_id: str) -> Wave | None:
        return next((w for w in self.waves if w.id == wave_id), None)

    @property
    def wave_ids(self) -> list[str]:
        return [w.id for w in self.waves]

    # Where things live: the layout of DESIGN.md section 2, written once.
    @property
    def study_file(self) -> Path:
        return self.root / STUDY_FILE

    @property
    def datapackage_path(self) -> Path:
        return self.root / "datapackage.json"

    @property
    def instruments_dir(self) -> Path:
        return self.root / "instruments"

    @property
    def participants_path(self) -> Path:
        return self.root / "data" / "participants.csv"

    @property
    def employment_path(self) -> Path:
        return self.root / "data" / "employment.csv"

    def measures_path(self, instrument_id: str) -> Path:
        return self.root / "data" / "measures" / f"{instrument_id}.csv"

    @property
    def qualitative_dir(self) -> Path:
        return self.root / "data" / "qualitative"

    @property
    def transcripts_dir(self) -> Path:
        return self.qualitative_dir / "transcripts"

    @property
    def codebook_path(self) -> Path:
        return self.qualitative_dir / "codebook.csv"

    @property
    def segments_path(self) -> Path:
        return self.qualitative_dir / "segments.csv"

    @property
    def themes_path(self) -> Path:
        return self.qualitative_dir / "themes.yml"


    @property
    def refi_ids_path(self) -> Path:
        """REFI-QDA GUIDs of imported codes, transcripts and segments, so exports keep them."""
        return self.qualitative_dir / "refi-ids.csv"

    @property
    def refi_cases_path(self) -> Path:
        """Case variables of an imported REFI-QDA project (written only when it had any)."""
        return self.qualitative_dir / "refi-cases.csv"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def results_dir(self) -> Path:
        """Where ``studykit results`` writes tables, figures and results.json (git-ignored)."""
        return self.reports_dir / "_results"

    @property
    def variables_path(self) -> Path:
        """Quarto project variables: the numbers the report's prose quotes."""
        return self.reports_dir / "_variables.yml"

    @property
    def propositions_path(self) -> Path:
        """Propositions for the joint display: statement, constructs, themes, fit, meta-inference."""
        return self.reports_dir / "propositions.yml"

    @property
    def checklists_path(self) -> Path:
        """COREQ and GRAMMS items and where the report answers each."""
        return self.reports_dir / "checklists.yml"

    @property
    def published_path(self) -> Path:
        """Published numbers to set beside the study's own (optional)."""
        return self.reports_dir / "published.yml"

    @property
    def governance_dir(self) -> Path:
        return self.root / "governance"

    @property
    def consent_path(self) -> Path:
        return self.governance_dir / "consent.csv"

    @property
    def withdrawals_path(self) -> Path:
        return self.governance_dir / "withdrawals.csv"

    @property
    def ethics_path(self) -> Path:
        return self.governance_dir / "ethics.yml"

    @property
    def audit_log_path(self) -> Path:
        return self.governance_dir / "audit.log"

    @property
    def manifest_path(self) -> Path:
        """Checksums of the data files as last accepted (integrity layer).

        Kept outside data/ because validation never writes there.
        """
        return self.governance_dir / "manifest.sha256"


def _location(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


# The form a value should take, by pydantic's error type (its own words name the parser, not the form).
_FORMS = {
    "bool": "true or false",
    "int": "a whole number, such as 3",
    "float": "a number, such as 2.5",
    "decimal": "a number, such as 2.5",
    "string": "text (in quotes if it looks like a number or a date, such as '1.0')",
    "list": "a list (one '- ' line per entry)",
    "dict": "a mapping of keys to values",
    "model": "a mapping of keys to values",
}


def _expected(error: dict) -> str | None:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind.startswith("date"):
        return "a date written as YYYY-MM-DD, such as 2024-02-05"
    if kind == "literal_error":
        return f"one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"text of the form {ctx.get('pattern')}"
    if kind == "string_too_short":
        return "filled in (it cannot be left blank)"
    bounds = {"greater_than_equal": "at least", "greater_than": "above", "less_than_equal": "at most",
              "less_than": "below"}  # fmt: skip
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        return f"a number {bounds[kind]} {limit}"
    return _FORMS.get(kind.removesuffix("_parsing").removesuffix("_type").split("_from_")[0])


def error_sentence(error: dict) -> str:
    """One pydantic error as the rest of a sentence after its key: what the value should be instead.

    ``study.yml`` and ``governance/ethics.yml`` share it, so every YAML file studykit reads
    names the expected form (YYYY-MM-DD, true/false, ...) and the value found.
    """
    kind, got = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return "is not a key studykit knows; check its spelling or remove it"
    if kind == "missing":
        return "is missing; add it"
    expected = _expected(error)
    found = "left blank" if got is None else shown(got if not isinstance(got, dt.date) else got.isoformat())
    if expected is not None:
        return f"should be {expected}, not {found}"
    message = re.sub(r"^Value error, ", "", error["msg"])
    return f"{message[0].lower()}{message[1:]} (got {found})"


def parse_study(data: object, path: Path) -> Study:
    """Validate parsed YAML into a Study, or raise one StudyConfigError listing every problem."""
    if not isinstance(data, dict):
        msg = "is not a mapping of keys to values"
        raise StudyConfigError(msg, path=path, fix="See docs/study-yml.md.")
    try:
        return Study.model_validate({**data, "root": path.parent})
    except ValidationError as exc:
        msg = "; ".join(f"{_location(e['loc'])} {error_sentence(e)}" for e in exc.errors())
        key = _location(exc.errors()[0]["loc"])
        raise StudyConfigError(msg, path=path, key=key, fix="See docs/study-yml.md.") from exc


def load_study(study_dir: Path | str = ".") -> Study:
    """Read and validate ``study.yml`` in ``study_dir``."""
    path = Path(study_dir) / STUDY_FILE
    if not path.is_file():
        msg = "not found"
        raise StudyConfigError(
            msg,
            path=path,
            fix="Run studykit inside a study folder, or pass --study-dir PATH to one that holds study.yml.",
        )
    if (target := leads_out_of_study(path)) is not None:
        raise StudyConfigError(link_outside_sentence(target), path=path, fix=LINK_OUTSIDE_FIX)
    try:
        data = load_yaml(read_yaml_text(path))
    except YAMLTooLargeError as exc:
        msg = f"is refused: {exc.problem}"
        fix = "Write the values out instead of repeating them through aliases."
        raise StudyConfigError(msg, path=path, fix=fix) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        msg = f"is not valid YAML ({getattr(exc, 'problem', exc)})"
        raise StudyConfigError(msg, path=path, key=where, fix=yaml_fix(exc)) from exc
    return parse_study(data, path)
