"""studykit deposit: access tiers, consent filtering per resource, the bag, refusals, determinism.

Inputs are the template's synthetic example study (baked once per module, copied per test),
with consent and access changed where a test is about them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from studykit.checks import validate
from studykit.deposit import DepositRefused, build_deposit, plan_deposit
from studykit.deposit.staging import payload
from studykit.deposit.tiers import TARGETS
from studykit.errors import DataErrorsFound
from studykit.package import write_descriptor
from studykit.study import load_study

from tests.package.deposit_study import (
    CREATORS,
    NO_ARCHIVING,
    NO_QUOTATION,
    RELEASED,
    REMOVED,
    bake_example,
    copy_study,
    without_archiving,
)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return bake_example(tmp_path_factory)


def ids_in(content: bytes) -> set[str]:
    return {row["participant_id"] for row in csv.DictReader(io.StringIO(content.decode("utf-8")))}


def source_ids(root: Path, relative: str) -> list[tuple[str, ...]]:
    with (root / relative).open(encoding="utf-8", newline="") as handle:
        return [tuple(row) for row in csv.reader(handle)][1:]


# --- the table: resources x tiers x consent scopes ------------------------------------------------

MEASURES = "data/measures/wemwbs.csv"


@pytest.mark.parametrize("measures_tier", ["open", "safeguarded", "controlled"])
@pytest.mark.parametrize("deposit_tier", ["open", "safeguarded"])
@pytest.mark.parametrize("scope", ["archiving", "direct_quotation"])
def test_exactly_these_files_and_rows_reach_each_deposit(
    example, tmp_path, measures_tier, deposit_tier, scope
):
    root = copy_study(example, tmp_path, resources={
        "measures-wemwbs": {"tier": measures_tier, "consent_scope": scope},
        "transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"},
    })  # fmt: skip
    study = load_study(root)
    plan = plan_deposit(study, deposit_tier, TARGETS["osf"], RELEASED)
    shipped = {item.path: item for item in plan.shipped}

    measures_ship = measures_tier == "open" or (
        measures_tier == "safeguarded" and deposit_tier == "safeguarded"
    )
    assert (MEASURES in shipped) is measures_ship
    if measures_ship:
        left_out = {REMOVED, NO_ARCHIVING} | ({NO_QUOTATION} if scope == "direct_quotation" else set())
        expected = [row for row in source_ids(root, MEASURES) if row[0] not in left_out]
        got = [tuple(r) for r in csv.reader(io.StringIO(shipped[MEASURES].content.decode()))][1:]
        assert got == expected
    else:
        assert MEASURES in {i.path for i in plan.described}

    # Participants and employment keep their default (safeguarded, archiving); codebook is open.
    assert ("data/participants.csv" in shipped) is (deposit_tier == "safeguarded")
    assert "data/qualitative/codebook.csv" in shipped
    transcripts = sorted(p for p in shipped if p.startswith("data/qualitative/transcripts/"))
    if deposit_tier == "open":
        assert transcripts == []
    else:
        # Every transcript whose participants may all be archived: not P003's (none exist), all others.
        everyone = sorted(
            p.relative_to(root).as_posix() for p in (root / "data/qualitative/transcripts").glob("*.md")
        )
        assert transcripts == everyone
    for item in plan.shipped:
        assert REMOVED not in item.participants
        assert NO_ARCHIVING not in item.participants


def test_a_transcript_with_someone_lacking_archiving_is_withheld_with_its_segments(example, tmp_path):
    root = copy_study(example, tmp_path, resources={
        "transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"}})  # fmt: skip
    consent = root / "governance" / "consent.csv"
    lines = consent.read_text(encoding="utf-8").splitlines(keepends=True)
    consent.write_text("".join(without_archiving(x) if x.startswith("P012,") else x for x in lines), "utf-8")
    plan = plan_deposit(load_study(root), "safeguarded", TARGETS["osf"], RELEASED)
    shipped = {item.path: item for item in plan.shipped}
    assert not any("P012" in path for path in shipped)
    assert any("INT-P005" in path for path in shipped)
    segments = shipped["data/qualitative/segments.csv"].content.decode()
    assert "INT-P012" not in segments
    assert "INT-P005-T1" in segments


def test_open_deposit_of_the_example_holds_no_transcript_and_no_onewithout_archiving(example, tmp_path):
    root = copy_study(
        example,
        tmp_path,
        access="open",
        resources={
            "participants": {"tier": "open"},
            "employment": {"tier": "open"},
            "measures": {"tier": "open"},
        },
    )
    built = build_deposit(load_study(root), released=RELEASED)
    files = sorted(
        p.relative_to(built.path).as_posix() for p in (root / built.path).rglob("*") if p.is_file()
    )
    assert not any("transcript" in f for f in files)
    assert "data/data/participants.csv" in files
    for path in (root / built.path / "data" / "data").rglob("*.csv"):
        content = path.read_bytes()
        if b"participant_id" in content.splitlines()[0]:
            assert ids_in(content).isdisjoint({REMOVED, NO_ARCHIVING}), path
    record = (root / built.record).read_text(encoding="utf-8")
    assert NO_ARCHIVING not in record
    assert REMOVED not in record
    assert "P001,peer-workforce-wellbeing-study-0.1.0-open" in record
    summary = json.loads((root / built.path / "data" / "consent-summary.json").read_text(encoding="utf-8"))
    assert summary["participants"] == len(record.splitlines()) - 1
    assert "P0" not in json.dumps(summary)  # counts and form versions only, never the register
    # Transcripts are described, never shipped.
    package = json.loads((root / built.path / "data" / "datapackage.json").read_text(encoding="utf-8"))
    assert [w["name"] for w in package["withheld"]] == ["segments", "transcripts"]
    assert all(r["access"]["tier"] == "open" for r in package["resources"])


def test_deposit_never_touches_data_or_governance_except_its_record(example, tmp_path):
    root = copy_study(example, tmp_path)
    before = {p: p.read_bytes() for p in (root / "data").rglob("*") if p.is_file()}
    before |= {p: p.read_bytes() for p in (root / "governance").rglob("*") if p.is_file()}
    built = build_deposit(load_study(root), released=RELEASED)
    after = {p: p.read_bytes() for p in (root / "data").rglob("*") if p.is_file()}
    after |= {p: p.read_bytes() for p in (root / "governance").rglob("*") if p.is_file()}
    assert set(after) - set(before) == {root / built.record}
    assert all(after[p] == before[p] for p in before)
    assert not list((root / "deposit").glob(".staging-*"))


# --- determinism --------------------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_two_builds_are_byte_identical_and_hold_no_absolute_path(example, tmp_path):
    root = copy_study(example, tmp_path)
    first = build_deposit(load_study(root), make_zip=True, released=RELEASED)
    bag_one, zip_one = tree(root / first.path), (root / first.zip).read_bytes()
    second = build_deposit(load_study(root), make_zip=True, released=RELEASED)
    assert tree(root / second.path) == bag_one
    assert (root / second.zip).read_bytes() == zip_one
    for name, content in bag_one.items():
        assert str(tmp_path).encode() not in content, name
    with zipfile.ZipFile(root / first.zip) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert bag_one["bagit.txt"] == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def test_the_bag_is_valid_to_bagit_python_and_frictionless(example, tmp_path):
    import bagit
    from frictionless import Package

    root = copy_study(example, tmp_path)
    built = build_deposit(load_study(root), released=RELEASED)
    assert bagit.Bag(str(root / built.path)).is_valid()
    assert Package(str(root / built.path / "data" / "datapackage.json")).validate().valid
    crate = json.loads((root / built.path / "data" / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    graph = {e["@id"]: e for e in crate["@graph"]}
    assert graph["ro-crate-metadata.json"]["conformsTo"]["@id"] == "https://w3id.org/ro/crate/1.1"
    participants = graph["data/participants.csv"]
    assert participants["license"]["@id"] == "https://spdx.org/licenses/CC-BY-4.0.html"
    assert "end user licence" in participants["conditionsOfAccess"]
    assert graph["./"]["datePublished"] == RELEASED.isoformat()
    assert "#withheld-transcripts" in graph


# --- refusals -------------------------------------------------------------------------------------


def test_refuses_while_validate_has_errors(example, tmp_path):
    root = copy_study(example, tmp_path)
    measures = root / MEASURES
    measures.write_text(measures.read_text(encoding="utf-8").replace("P001,T1,", "P001,T9,", 1), "utf-8")
    assert not validate(load_study(root)).valid
    with pytest.raises(DataErrorsFound, match="validate found"):
        build_deposit(load_study(root), released=RELEASED)
    assert not (root / "deposit").exists()


@pytest.mark.parametrize(
    ("target", "resources", "creators", "reason"),
    [
        ("dryad", {}, CREATORS, "requires the data licence CC0-1.0"),
        (
            "dryad",
            {"transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"}},
            CREATORS,
            "has no safeguarded tier",
        ),
        (
            "zenodo",
            {"transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"}},
            CREATORS,
            "--confirm-permanent",
        ),
        ("datacite", {}, [{"name": "Alex Example"}], "needs an ORCID"),
        ("reshare", {}, [], "placeholder"),
    ],
)
def test_target_refusals_say_why(example, tmp_path, target, resources, creators, reason):
    root = copy_study(example, tmp_path, resources=resources, creators=creators)
    with pytest.raises(DepositRefused, match=reason.replace("-", r"\-")):
        build_deposit(load_study(root), target=target, released=RELEASED)
    assert not (root / "deposit" / "peer-workforce-wellbeing-study-0.1.0-safeguarded").exists()


def test_zenodo_takes_transcripts_once_confirmed(example, tmp_path):
    root = copy_study(example, tmp_path, resources={
        "transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"}})  # fmt: skip
    built = build_deposit(load_study(root), target="zenodo", confirm_permanent=True, released=RELEASED)
    assert built.target_access.startswith("restricted")
    assert (root / built.path / "data/data/qualitative/transcripts/INT-P005-T1.md").is_file()


@pytest.mark.parametrize(
    ("field", "text", "reason"),
    [
        ("keywords", ["peer work", "P001"], "names participant P001"),
        ("keywords", ["site S1"], "names the site 'S1'"),
        ("description", 'They said "it opens doors that a job title never would" in T1.', "quotation"),
        (
            "description",
            "It opens doors that a job title never would, as heard.",
            "repeats words of a transcript",
        ),
    ],
)
def test_public_metadata_naming_people_sites_or_quotes_is_refused(example, tmp_path, field, text, reason):
    root = copy_study(example, tmp_path, **({"keywords": text} if field == "keywords" else {}))
    if field == "description":
        design = yaml.safe_load((root / "study.yml").read_text(encoding="utf-8"))
        design["description"] = text
        (root / "study.yml").write_text(yaml.safe_dump(design), encoding="utf-8")
        write_descriptor(load_study(root))
    with pytest.raises(DepositRefused, match=reason):
        build_deposit(load_study(root), released=RELEASED)


def test_an_interrupted_build_leaves_no_half_deposit(example, tmp_path, monkeypatch):
    from studykit.deposit import bag

    root = copy_study(example, tmp_path)

    def broken(folder, info):
        (folder / "half").write_text("x", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(bag, "make_bag", broken)
    with pytest.raises(KeyboardInterrupt):
        build_deposit(load_study(root), released=RELEASED)
    assert [p.name for p in (root / "deposit").iterdir()] == []


def test_payload_lists_every_file_the_bag_needs(example, tmp_path):
    root = copy_study(example, tmp_path)
    plan = plan_deposit(load_study(root), "safeguarded", TARGETS["reshare"], RELEASED)
    names = set(payload(plan))
    assert {"datapackage.json", "codebook.md", "README.md", "LICENSE", "CITATION.cff", "consent-summary.json",
            "ro-crate-metadata.json"} <= names  # fmt: skip
    assert not any(n.startswith("governance") for n in names)


def test_consent_summary_never_names_who_was_left_out(example, tmp_path):
    root = copy_study(example, tmp_path, resources={
        "transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"}})  # fmt: skip
    consent = root / "governance" / "consent.csv"
    lines = consent.read_text(encoding="utf-8").splitlines(keepends=True)
    consent.write_text("".join(without_archiving(x) if x.startswith("P012,") else x for x in lines), "utf-8")
    built = build_deposit(load_study(root), target="osf", released=RELEASED)
    summary = (root / built.path / "data" / "consent-summary.json").read_text(encoding="utf-8")
    assert "p012" not in summary.lower()
    assert '"rule": "no_archiving_consent",\n      "resource": "transcripts"' in summary
    package = (root / built.path / "data" / "datapackage.json").read_text(encoding="utf-8")
    assert "P012" not in package
    assert "p012" not in package


def test_cli_deposit_json_and_refusal_exit_codes(example, tmp_path):
    from studykit.cli import app
    from typer.testing import CliRunner

    root = copy_study(example, tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["deposit", "-C", str(root), "--format", "json", "--zip"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["name"] == "peer-workforce-wellbeing-study-0.1.0-safeguarded"
    assert result["target_access"].startswith("safeguarded")
    assert (root / "deposit" / f"{result['name']}.zip").is_file()
    refused = runner.invoke(app, ["deposit", "-C", str(root), "--target", "dryad"])
    assert refused.exit_code == 1
    assert "Dryad requires the data licence CC0-1.0" in refused.stderr


def test_a_zip_over_reshares_upload_limit_is_built_and_says_how_to_upload_it(example, tmp_path, monkeypatch):
    """ReShare takes zip bundles of at most 2 GB each: a larger deposit is still built (nothing is lost),
    and the command says how to upload it. The limit is lowered here, so that a small study exceeds it."""
    import dataclasses

    from studykit.cli import app
    from typer.testing import CliRunner

    root = copy_study(example, tmp_path)
    assert TARGETS["reshare"].max_upload_bytes == 2_000_000_000
    assert build_deposit(load_study(root), target="reshare", make_zip=True, released=RELEASED).warnings == []
    monkeypatch.setitem(TARGETS, "reshare", dataclasses.replace(TARGETS["reshare"], max_upload_bytes=1000))
    done = CliRunner().invoke(app, ["deposit", "-C", str(root), "--target", "reshare", "--zip"])
    assert done.exit_code == 0, done.output
    said = " ".join(done.stderr.split())
    assert "ReShare takes files of at most 1e-06 GB in one upload, and this deposit's zip is" in said
    assert "upload it as several zip bundles" in said
    assert build_deposit(load_study(root), target="zenodo", confirm_permanent=True,
                         released=RELEASED).warnings == []  # fmt: skip (no limit for Zenodo here)


def test_a_byte_order_mark_does_not_hide_participants_from_the_consent_filter(example, tmp_path):
    root = copy_study(example, tmp_path)
    path = root / "data" / "participants.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    plan = plan_deposit(load_study(root), "safeguarded", TARGETS["reshare"], RELEASED)
    participants = next(i for i in plan.shipped if i.name == "participants")
    assert ids_in(participants.content).isdisjoint({REMOVED, NO_ARCHIVING})
    assert participants.content.startswith(b"participant_id,")


def test_the_study_ignores_its_deposits_but_not_the_deposit_package(example):
    import subprocess

    def ignored(relative: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", relative], cwd=example,
                              check=False, capture_output=True).returncode == 0  # fmt: skip

    subprocess.run(["git", "init", "-q"], cwd=example, check=True, capture_output=True)
    assert ignored("deposit/peer-workforce-wellbeing-study-0.1.0-safeguarded/bagit.txt")
    assert not ignored("src/studykit/deposit/check.py")
    assert not ignored("docs/deposit.md")
