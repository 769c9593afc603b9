"""Build a deposit: plan what reaches it, write it in a fresh folder, move it into place.

``build_deposit(study, tier=..., target=...)``:

1. refuses while ``studykit validate`` finds errors (``DataErrorsFound``, exit 1);
2. plans the deposit (``plan_deposit``, reads only): each resource of the data package and
   each transcript is shipped (at or below the tier), described (controlled, above the
   tier, or under embargo) or omitted (internal); every shipped table is passed through
   the one ``ConsentFilter`` for deposit, with the resource's own consent scope, and a
   transcript ships only when everyone in it may be archived;
3. refuses what the target cannot hold, placeholder metadata, and public metadata that
   name a participant, a site or quote someone (``DepositRefused``, exit 1);
4. writes the payload into ``deposit/.staging-*`` (a folder made for this run), bags it
   there with bagit (``make_bag`` moves what is in the folder it is given, so it is never
   given a study folder), writes the record of participant ids to
   ``governance/deposits/<name>.csv`` and only then moves the bag to
   ``deposit/<slug>-<version>-<tier>/``. An interrupted run leaves the staging folder
   (removed by the next run) and no half deposit.

Deterministic: the same study on the same release date gives the same bytes. The date is
``SOURCE_DATE_EPOCH`` when set (reproducible-builds convention), else today (UTC).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from studykit.errors import DataErrorsFound, StudykitError
from studykit.files import link_outside, write_file
from studykit.governance import ConsentFilter, Exclusion
from studykit.package import build_descriptor, package_head
from studykit.qual.transcripts import read_transcript, transcript_paths
from studykit.study import Access, Study, resource_kind

from . import bag, citation, crate, labelled, tiers

DATE_COLUMNS = {"participants": None, "employment": "recorded_on", "measures": "completed_on"}
TRANSCRIPTS_FOLDER = "data/qualitative/transcripts"
STAGING_PREFIX = ".staging-"


class DepositRefused(StudykitError):
    """The deposit cannot be built as asked: the target, the tier or the metadata say no (exit 1)."""

    exit_code = 1

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        fix = "Correct study.yml (or choose another --tier or --target), then run studykit deposit again."
        super().__init__("the deposit was refused: " + " ".join(reasons), fix=fix)


@dataclass
class Item:
    """One resource of the study as the deposit sees it."""

    name: str
    kind: str
    path: str
    title: str
    access: Access
    placement: str  # shipped | described | omitted
    reason: str = ""
    descriptor: dict[str, Any] = field(default_factory=dict)
    content: bytes = b""
    rows: int | None = None
    participants: set[str] = field(default_factory=set)

    def described(self) -> dict[str, Any]:
        """What a re-user learns about a resource that is not shipped."""
        return {"name": self.name, "path": self.path, "title": self.title, "reason": self.reason,
                "access": self.access.model_dump(mode="json", exclude_none=True)}  # fmt: skip


@dataclass
class Plan:
    study: Study
    tier: str
    target: tiers.Target
    released: dt.date
    items: list[Item]
    consent: ConsentFilter

    @property
    def name(self) -> str:
        return f"{self.study.slug}-{self.study.version}-{self.tier}"

    @property
    def shipped(self) -> list[Item]:
        return [i for i in self.items if i.placement == "shipped"]

    @property
    def described(self) -> list[Item]:
        return [i for i in self.items if i.placement == "described"]

    def participant_ids(self) -> list[str]:
        return sorted(set().union(*(i.participants for i in self.shipped)))


@dataclass
class Deposit:
    """What ``studykit deposit`` built."""

    name: str
    path: Path
    tier: str
    target: str
    target_access: str
    released: dt.date
    shipped: list[dict[str, Any]]
    described: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    participants: int
    record: Path
    zip: Path | None = None
    warnings: list[str] = field(default_factory=list)
    """What the target will not take as built (a zip over its upload limit), as sentences."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "path": self.path.as_posix(), "tier": self.tier, "target": self.target,
            "target_access": self.target_access, "released": self.released.isoformat(),
            "shipped": self.shipped, "described": self.described, "excluded": self.excluded,
            "participants": self.participants, "record": self.record.as_posix(),
            "zip": self.zip.as_posix() if self.zip else None, "warnings": self.warnings,
        }  # fmt: skip


def release_date() -> dt.date:
    """``SOURCE_DATE_EPOCH`` as a date when set, else today in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.datetime.now(tz=dt.UTC).date()


# --- planning: what reaches the deposit (reads only) ---------------------------------------------


def plan_deposit(
    study: Study, tier: str, target: tiers.Target, released: dt.date, consent: ConsentFilter | None = None
) -> Plan:
    """Decide for every resource and transcript whether it ships, and filter what ships by consent."""
    consent = consent or ConsentFilter.from_study(study)
    items = []
    for resource in build_descriptor(study)["resources"]:
        name = resource["name"]
        access = study.access_for(name)
        item = Item(name, resource_kind(name), resource["path"], resource.get("title", ""), access,
                    _placement(access, tier, released), descriptor=resource)  # fmt: skip
        item.reason = _reason(item.placement, access, tier)
        if item.placement == "shipped":
            _fill_table(study, item, consent)
        items.append(item)
    if study.strands.qualitative:
        items += _transcripts(study, tier, released, consent)
    return Plan(study, tier, target, released, items, consent)


def _placement(access: Access, tier: str, released: dt.date) -> str:
    placed = tiers.placement(access.tier, tier)
    if placed == "shipped" and access.embargo_until is not None and access.embargo_until > released:
        return "described"
    return placed


def _reason(placement: str, access: Access, tier: str) -> str:
    if placement == "shipped":
        return ""
    if placement == "omitted":
        return "internal: never deposited"
    if access.tier == "controlled":
        return "controlled: described here, never shipped; " + access.conditions
    if access.tier != tier and tiers.rank(access.tier) > tiers.rank(tier):
        return f"{access.tier}: above this deposit's tier ({tier})"
    return f"embargoed until {access.embargo_until}"


def _fill_table(study: Study, item: Item, consent: ConsentFilter) -> None:
    path = study.root / item.path
    if link_outside(study.root, path) is not None:
        msg = "is a link leading outside the study; a deposit never reads through it"
        raise StudykitError(msg, path=item.path, fix="Replace the link with the real file.")
    # A byte-order mark (a warning in validate) would hide the participant_id column from the filter.
    frame = pl.read_csv(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), infer_schema=False, encoding="utf8")
    declared = {f["name"] for f in item.descriptor.get("schema", {}).get("fields", [])}
    if "participant_id" in declared and "participant_id" not in frame.columns:
        msg = "has no participant_id column, so consent cannot be applied; nothing was deposited"
        raise StudykitError(msg, path=item.path, fix="Correct its header (studykit validate says how).")
    scope = item.access.consent_scope
    if item.kind == "segments":
        frame = _segments_allowed(study, frame, consent, item)
    elif scope is not None and "participant_id" in frame.columns:
        frame = consent.filter(frame, resource=item.name, purpose="deposit",
                               date_column=DATE_COLUMNS.get(item.kind))  # fmt: skip
        frame = _scope_filter(frame, consent, scope, item.name)
        item.participants = set(frame.get_column("participant_id").drop_nulls().to_list())
    item.rows = frame.height
    item.content = frame.write_csv(line_terminator="\n").encode("utf-8")


def _scope_filter(frame: pl.DataFrame, consent: ConsentFilter, scope: str, resource: str) -> pl.DataFrame:
    """The resource's own scope, when it is not archiving (which the deposit purpose already asks)."""
    if scope == "archiving" or frame.is_empty():
        return frame
    ids = frame.get_column("participant_id")
    allowed = {pid for pid in ids.unique().to_list() if pid is not None and consent.allows(pid, scope)}
    keep = ids.is_in(sorted(allowed))
    dropped = frame.filter(~keep)
    if dropped.height:
        rule = f"no_{scope}_consent"
        consent.exclusions.append(
            Exclusion(rule, resource, dropped.get_column("participant_id").n_unique(), dropped.height)
        )
    return frame.filter(keep)


def _everyone_allows(consent: ConsentFilter, participants: list[str], on: dt.date, scope: str | None) -> bool:
    """Whether every participant of a transcript may be deposited (silent: records no exclusion)."""
    if scope is None or not participants:
        return True
    probe = ConsentFilter(consent.registers, consent.policy)
    frame = pl.DataFrame({"participant_id": participants, "on": [on] * len(participants)})
    kept = probe.filter(frame, resource="(transcript)", purpose="deposit", date_column="on")
    return kept.height == len(participants) and all(consent.allows(p, scope) for p in participants)


def _segments_allowed(study: Study, frame: pl.DataFrame, consent: ConsentFilter, item: Item) -> pl.DataFrame:
    """Coded segments of transcripts whose participants may all be deposited (segments have no ids)."""
    verdicts = {}
    for path in transcript_paths(study):
        transcript = read_transcript(path, root=study.root)
        verdicts[transcript.id] = _everyone_allows(consent, list(transcript.participants), transcript.date,
                                                   item.access.consent_scope)  # fmt: skip
    keep = frame.get_column("transcript").map_elements(
        lambda t: verdicts.get(t, False), return_dtype=pl.Boolean
    )
    dropped = frame.filter(~keep)
    if dropped.height:
        consent.exclusions.append(
            Exclusion(
                "transcript_not_deposited_by_consent",
                item.name,
                dropped.get_column("transcript").n_unique(),
                dropped.height,
            )
        )
    return frame.filter(keep)


def _transcripts(study: Study, tier: str, released: dt.date, consent: ConsentFilter) -> list[Item]:
    access = study.access_for("transcripts")
    placed = _placement(access, tier, released)
    items = []
    for path in transcript_paths(study):
        relative = path.relative_to(study.root).as_posix()
        name = f"transcript-{path.stem.lower()}"
        item = Item(name, "transcripts", relative, f"Transcript {path.stem}", access, placed,
                    _reason(placed, access, tier))  # fmt: skip
        if placed == "shipped":
            transcript = read_transcript(path, root=study.root)
            participants = list(transcript.participants)
            if _everyone_allows(consent, participants, transcript.date, access.consent_scope):
                item.content = path.read_bytes()
                item.participants = set(participants)
            else:
                item.placement, item.reason = "withheld", "not everyone in it consented to archiving"
                # Counted under "transcripts": a file name would name who did not consent.
                excluded = Exclusion("no_archiving_consent", "transcripts", len(participants), 1)
                consent.exclusions.append(excluded)
        items.append(item)
    if items and placed != "shipped":
        # One description for the folder: the file names are participants' ids.
        count = len(items)
        return [Item("transcripts", "transcripts", TRANSCRIPTS_FOLDER + "/", f"Transcripts ({count} files)",
                     access, placed, _reason(placed, access, tier))]  # fmt: skip
    return items


# --- building -------------------------------------------------------------------------------------


def build_deposit(
    study: Study,
    *,
    tier: str | None = None,
    target: str | None = None,
    make_zip: bool = False,
    confirm_permanent: bool = False,
    released: dt.date | None = None,
) -> Deposit:
    """Validate, plan, check and write ``deposit/<slug>-<version>-<tier>/`` (see the module docstring)."""
    from studykit.checks import validate

    tier = tier or study.archive.access
    if tier not in tiers.DEPOSIT_TIERS:
        msg = f"a deposit cannot be built for the {tier} tier: only open or safeguarded data leave the study"
        raise DepositRefused([msg + "."])
    chosen = tiers.TARGETS[target or tiers.default_target(study)]
    report = validate(study)
    if not report.valid:
        msg = f"studykit validate found {len(report.errors)} error(s), so no deposit was built"
        raise DataErrorsFound(
            msg, findings=tuple(report.errors), fix="Run studykit validate and fix them first."
        )
    plan = plan_deposit(study, tier, chosen, released or release_date())
    has_transcripts = any(i.kind == "transcripts" and i.placement == "shipped" for i in plan.items)
    problems = tiers.target_problems(study, chosen, tier, transcripts=has_transcripts,
                                     confirm=confirm_permanent)  # fmt: skip
    problems += citation.public_metadata_problems(plan)
    if problems:
        raise DepositRefused(problems)
    return write_deposit(plan, make_zip=make_zip)


def payload(plan: Plan) -> dict[str, bytes]:
    """Every payload file of the bag: path inside ``data/`` -> bytes, sorted."""
    files: dict[str, bytes] = {item.path: item.content for item in plan.shipped}
    files.update(labelled.files(plan))
    files["datapackage.json"] = _json(deposit_descriptor(plan))
    files["codebook.md"] = citation.codebook(plan).encode("utf-8")
    files["README.md"] = citation.readme(plan).encode("utf-8")
    files["LICENSE"] = citation.licence(plan).encode("utf-8")
    files["CITATION.cff"] = citation.citation_cff(plan).encode("utf-8")
    files["consent-summary.json"] = _json(citation.consent_summary(plan))
    files["ro-crate-metadata.json"] = _json(crate.crate_metadata(plan, files))
    return dict(sorted(files.items()))


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def deposit_descriptor(plan: Plan) -> dict[str, Any]:
    """The deposit's data package: the shipped resources with their bytes and sha256, and what is withheld."""
    import hashlib

    names = {i.name for i in plan.shipped}
    resources = []
    for item in plan.shipped:
        resource = dict(item.descriptor) if item.descriptor else {
            "name": item.name, "path": item.path, "title": item.title, "format": "md",
            "mediatype": "text/markdown", "encoding": "utf-8",
        }  # fmt: skip
        resource["bytes"] = len(item.content)
        resource["hash"] = "sha256:" + hashlib.sha256(item.content).hexdigest()
        resource["access"] = item.access.model_dump(mode="json", exclude_none=True)
        schema = resource.get("schema")
        if schema and schema.get("foreignKeys"):
            # A key to a resource this deposit does not ship cannot be checked by a re-user.
            keys = [k for k in schema["foreignKeys"] if k["reference"]["resource"] in names | {""}]
            resource["schema"] = (
                {**schema, "foreignKeys": keys}
                if keys
                else {k: v for k, v in schema.items() if k != "foreignKeys"}
            )
        resources.append(resource)
    head = package_head(plan.study)
    return {
        **head,
        "created": f"{plan.released.isoformat()}T00:00:00Z",
        "deposit": {
            "tier": plan.tier,
            "target": plan.target.id,
            "target_access": plan.target.tiers[plan.tier],
            "access_rights": {
                "datacite_access_type": tiers.DATACITE_ACCESS[plan.tier],
                "coar": tiers.COAR[plan.tier],
                "dcat": tiers.DCAT[plan.tier],
            },
        },
        "resources": resources,
        "withheld": [i.described() for i in plan.items if i.placement == "described"],
    }


def write_deposit(plan: Plan, *, make_zip: bool = False) -> Deposit:
    """Write the planned deposit: staged, bagged, recorded, then moved into place."""
    study = plan.study
    deposits = study.root / "deposit"
    deposits.mkdir(exist_ok=True)
    for stale in deposits.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    files = payload(plan)
    final = deposits / plan.name
    with _staging(deposits) as staging:
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        bag.make_bag(staging, bag.bag_info(plan))
        record = write_record(plan)
        _replace(staging, final)
    archive = bag.write_zip(final, deposits / f"{plan.name}.zip") if make_zip else None
    size = archive.stat().st_size if archive else sum(len(content) for content in files.values())
    return Deposit(
        plan.name, final, plan.tier, plan.target.id, plan.target.tiers[plan.tier], plan.released,
        shipped=[{"name": i.name, "path": i.path, "rows": i.rows} for i in plan.shipped],
        described=[i.described() for i in plan.items if i.placement == "described"],
        excluded=plan.consent.summary(), participants=len(plan.participant_ids()), record=record, zip=archive,
        warnings=upload_warnings(plan.target, size, zipped=archive is not None),
    )  # fmt: skip


def upload_warnings(target: tiers.Target, size: int, *, zipped: bool) -> list[str]:
    """Sentences on what ``target`` will not take in one upload, for a deposit of ``size`` bytes."""
    limit = target.max_upload_bytes
    if limit is None or size <= limit:
        return []
    what = "zip" if zipped else "payload"
    most = f"{limit / 1e9:g} GB"
    return [
        f"{target.name} takes files of at most {most} in one upload, and this deposit's {what} is "
        f"{size / 1e9:.1f} GB: upload it as several zip bundles of at most {most} each, grouped by content "
        "(for example the data tables, the transcripts and the documentation apart), keeping the folders "
        "as they are in the bag."
    ]


@contextlib.contextmanager
def _staging(deposits: Path) -> Iterator[Path]:
    staging = deposits / f"{STAGING_PREFIX}{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace(staging: Path, final: Path) -> None:
    """Move the finished bag to its name; an older deposit of the same name goes only once it is there."""
    old = final.with_name(f"{STAGING_PREFIX}old-{final.name}-{secrets.token_hex(4)}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def record_path(study: Study, name: str) -> Path:
    return study.governance_dir / "deposits" / f"{name}.csv"


def write_record(plan: Plan) -> Path:
    """governance/deposits/<name>.csv: each participant id the deposit holds, and in which resources."""
    held: dict[str, list[str]] = {}
    for item in plan.shipped:
        for pid in item.participants:
            held.setdefault(pid, []).append(item.name)
    out = io.StringIO()
    out.write("participant_id,deposit,tier,target,released,resources\n")
    for pid in sorted(held):
        out.write(
            f"{pid},{plan.name},{plan.tier},{plan.target.id},{plan.released},{';'.join(sorted(held[pid]))}\n"
        )
    return write_file(record_path(plan.study, plan.name), out.getvalue(), within=plan.study.root)
