"""Access layer: every resource says how it may be shared, and identifiable data stay controlled (ACC###).

Each resource in datapackage.json carries ``access`` (generated from study.yml by
``studykit package sync``): ``tier`` (open | safeguarded | controlled | internal),
``personal_data`` (none | pseudonymised | identifiable), ``consent_scope``,
``conditions`` and an optional ``embargo_until``. A deposit is built from these, so a
resource without a tier, or identifiable data in a tier that ships files, must stop
it. Transcripts are not data package resources; their access comes from study.yml.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any, get_args

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.study import TIERS, ConsentScope, PersonalData, Study

SHIPPED_TIERS = ("open", "safeguarded")
_FIX_SYNC = "Set it in study.yml (archive.resources) and run `studykit package sync`."

NO_TIER = Rule(
    "ACC001", "governance", "Resource without an access tier", "error",
    "Every resource in datapackage.json needs access.tier (open, safeguarded, controlled or internal), "
    "so a deposit knows whether it may ship the resource.",
    _FIX_SYNC,
)
IDENTIFIABLE_SHIPPED = Rule(
    "ACC002", "governance", "Identifiable data below controlled", "error",
    "A resource marked personal_data: identifiable is in the open or safeguarded tier, so a deposit would "
    "ship it. The UK Data Service offers identifiable data only under controlled (secure) access.",
    "Raise its tier to controlled, or anonymise it and set personal_data to pseudonymised or none "
    "(study.yml archive.resources), then run `studykit package sync`.",
)
BAD_ACCESS = Rule(
    "ACC003", "governance", "Access property not understood", "error",
    "A resource's access has a personal_data, consent_scope or embargo_until value studykit does not know "
    "(personal_data: none, pseudonymised or identifiable; consent_scope: a consent register scope; "
    "embargo_until: YYYY-MM-DD).",
    _FIX_SYNC,
)
register(NO_TIER, IDENTIFIABLE_SHIPPED, BAD_ACCESS)


def check(run: Run) -> Iterator[Finding]:
    """Findings about the access of each resource in datapackage.json and of the transcripts."""
    study = run.study
    descriptor = _descriptor(study)
    if descriptor is not None:
        for index, resource in enumerate(descriptor.get("resources") or []):
            if isinstance(resource, Mapping):
                yield from check_resource(resource, index)
    if study.strands.qualitative:
        transcripts = study.access_for("transcripts")
        if transcripts.personal_data == "identifiable" and transcripts.tier in SHIPPED_TIERS:
            yield IDENTIFIABLE_SHIPPED.finding(
                f"transcripts are identifiable but in the {transcripts.tier} tier",
                file="study.yml", column="archive.resources.transcripts", value=transcripts.tier,
            )  # fmt: skip


def _descriptor(study: Study) -> dict[str, Any] | None:
    """The data package as written; ``None`` when it cannot be read (the structure layer says why)."""
    try:
        descriptor = json.loads(study.datapackage_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return descriptor if isinstance(descriptor, dict) else None


def check_resource(
    resource: Mapping[str, Any], index: int, file: str = "datapackage.json"
) -> Iterator[Finding]:
    """The access rules for one resource descriptor (also used by check-deposit)."""
    name = str(resource.get("name", f"resources[{index}]"))
    access = resource.get("access")
    tier = access.get("tier") if isinstance(access, Mapping) else None
    if tier not in TIERS:
        found = "has no access.tier" if tier is None else f"has access.tier {tier!r}"
        column = f"{name}.access.tier"
        yield NO_TIER.finding(f"resource {name!r} {found}", file=file, column=column, value=tier)
        return
    personal = access.get("personal_data")
    if personal not in get_args(PersonalData):
        yield BAD_ACCESS.finding(
            f"resource {name!r} has access.personal_data {personal!r}",
            file=file, column=f"{name}.access.personal_data", value=personal,
        )  # fmt: skip
    elif personal == "identifiable" and tier in SHIPPED_TIERS:
        yield IDENTIFIABLE_SHIPPED.finding(
            f"resource {name!r} is identifiable but in the {tier} tier",
            file=file, column=f"{name}.access.tier", value=tier,
        )  # fmt: skip
    scope = access.get("consent_scope")
    if scope is not None and scope not in get_args(ConsentScope):
        yield BAD_ACCESS.finding(
            f"resource {name!r} has access.consent_scope {scope!r}",
            file=file, column=f"{name}.access.consent_scope", value=scope,
        )  # fmt: skip
    embargo = access.get("embargo_until")
    if embargo is not None and not _is_date(embargo):
        yield BAD_ACCESS.finding(
            f"resource {name!r} has access.embargo_until {embargo!r}",
            file=file, column=f"{name}.access.embargo_until", value=embargo,
        )  # fmt: skip


def _is_date(value: object) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True
