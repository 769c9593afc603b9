"""Access tiers and deposit targets: which resources a deposit ships, and each target's own words.

studykit's tiers are the UK Data Service's (open, safeguarded, controlled) plus
``internal`` (never deposited). A deposit is built for one tier and ships the resources
at or below it; controlled resources are described, never shipped; internal ones are
left out. Each target names the tiers in its own vocabulary and refuses what it cannot
hold (domain facts: shared/domain/involvement-access-erasure.md section C).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studykit.study import TIERS, Study

DEPOSIT_TIERS = ("open", "safeguarded")
"""Tiers a deposit can be built for: controlled data never leave through studykit."""

# Vocabularies that do not depend on the target (RO-Crate and DataCite records carry them).
DCAT = {
    "open": "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
    "safeguarded": "http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
    "controlled": "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
}
COAR = {
    "open": "http://purl.org/coar/access_right/c_abf2",
    "embargoed": "http://purl.org/coar/access_right/c_f1cf",
    "safeguarded": "http://purl.org/coar/access_right/c_16ec",
    "controlled": "http://purl.org/coar/access_right/c_14cb",
}
DATACITE_ACCESS = {"open": "Public", "safeguarded": "Restricted", "controlled": "Restricted"}


@dataclass(frozen=True)
class Target:
    """A repository: its words for each tier it can hold, and what it refuses."""

    id: str
    name: str
    tiers: dict[str, str]
    licences: tuple[str, ...] = ()
    """Licences it accepts (empty: any)."""
    accepts_transcripts: bool = True
    immutable: bool = False
    """Files cannot change after publication (an erasure request then needs a new version)."""
    needs_orcid: bool = False
    notes: tuple[str, ...] = field(default=())
    max_upload_bytes: int | None = None
    """The largest file it takes in one upload (ReShare: zip bundles of at most 2 GB each)."""


TARGETS: dict[str, Target] = {
    "reshare": Target(
        "reshare", "UK Data Service ReShare",
        {"open": "open", "safeguarded": "safeguarded (End User Licence, registered users)"},
        notes=("ReShare has no controlled tier: controlled data go to a curated UK Data Service deposit.",
               "Zip bundles of at most 2 GB each."),
        max_upload_bytes=2_000_000_000,  # "2 GB" in the ReShare preparation checklist, read as 10^9 bytes
    ),
    "zenodo": Target(
        "zenodo", "Zenodo",
        {"open": "open (files public)",
         "safeguarded": "restricted (files on request; the depositor decides)"},
        immutable=True,
        notes=("Zenodo metadata are always public.",
               "Zenodo restricted access is decided by the depositor per request, unlike UK Data Service "
               "safeguarded access: keep a documented request-review procedure."),
    ),
    "osf": Target(
        "osf", "OSF",
        {"open": "public component", "safeguarded": "private component (view-only link on request)"},
        notes=("A registration is frozen: its files cannot be changed or removed.",),
    ),
    "dryad": Target(
        "dryad", "Dryad", {"open": "public (CC0)"}, licences=("CC0-1.0",), accepts_transcripts=False,
        notes=("Dryad accepts no transcripts and no personal data; all files CC0.",),
    ),
    "datacite": Target(
        "datacite", "DataCite (institutional repository)",
        {"open": "accessType Public", "safeguarded": "accessType Restricted"}, needs_orcid=True,
    ),
}  # fmt: skip
ARCHIVE_TARGET = {"UK Data Service": "reshare", "Zenodo": "zenodo", "OSF": "osf", "institutional": "datacite"}
PLACEHOLDERS = ("", "todo", "tbd", "title", "about", "template placeholder", "your name", "n/a")


def default_target(study: Study) -> str:
    return ARCHIVE_TARGET[study.archive.target]


def rank(tier: str) -> int:
    return TIERS.index(tier)


def placement(resource_tier: str, deposit_tier: str) -> str:
    """``shipped``, ``described`` (controlled, or above the deposit's tier) or ``omitted`` (internal)."""
    if resource_tier == "internal":
        return "omitted"
    if resource_tier == "controlled" or rank(resource_tier) > rank(deposit_tier):
        return "described"
    return "shipped"


def is_placeholder(text: str | None) -> bool:
    """Blank, a template default (``Your Institution``, ``... (replace with the PI's name)``) or Jinja."""
    if text is None:
        return True
    lowered = text.strip().lower()
    return lowered in PLACEHOLDERS or "{{" in text or "replace with" in lowered or lowered.startswith("your ")


def target_problems(
    study: Study, target: Target, tier: str, *, transcripts: bool, confirm: bool
) -> list[str]:
    """Sentences saying why ``target`` cannot take this deposit; [] when it can."""
    problems = []
    if tier not in target.tiers:
        offered = ", ".join(target.tiers)
        problems.append(f"{target.name} has no {tier} tier (it offers: {offered}).")
    if target.licences and study.licences.data not in target.licences:
        problems.append(
            f"{target.name} requires the data licence {' or '.join(target.licences)}; study.yml has "
            f"{study.licences.data}."
        )
    if transcripts and not target.accepts_transcripts:
        problems.append(f"{target.name} does not accept interview or focus-group transcripts.")
    if transcripts and target.immutable and not confirm:
        problems.append(
            f"{target.name} files cannot be changed after publication, so a later erasure request could not "
            "take a transcript out: confirm with --confirm-permanent after reading docs/deposit.md."
        )
    if is_placeholder(study.title):
        problems.append("study.yml title is missing or a placeholder.")
    if is_placeholder(study.licences.data):
        problems.append("study.yml licences.data is missing or a placeholder.")
    creators = study.archive.creators
    if not creators and is_placeholder(study.principal_investigator):
        problems.append(
            "The creator is a placeholder: set principal_investigator or archive.creators in study.yml."
        )
    if not creators and is_placeholder(study.institution):
        problems.append("study.yml institution is a placeholder.")
    if target.needs_orcid:
        missing = [c.name for c in creators if c.orcid is None]
        if not creators or missing:
            who = ", ".join(missing) if missing else "(no archive.creators)"
            problems.append(f"{target.name} needs an ORCID for each creator in archive.creators: {who}.")
    return problems
