"""studykit check-deposit: every finding class, on bags broken section by section (RFC 8493).

One deposit of the synthetic example is built per module; each test breaks a copy of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from studykit.cli import app
from studykit.deposit import build_deposit, check_deposit
from studykit.deposit.check import CouldNotCheck
from studykit.study import load_study
from typer.testing import CliRunner

from tests.conftest import PACKAGE_SRC
from tests.package.deposit_study import RELEASED, bake_example, copy_study

PARTICIPANTS = "data/data/participants.csv"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    example = bake_example(tmp_path_factory)
    root = copy_study(example, tmp_path_factory.mktemp("study"))
    deposit = build_deposit(load_study(root), released=RELEASED)
    return root / deposit.path


@pytest.fixture
def bag(built, tmp_path) -> Path:
    copy = tmp_path / built.name
    shutil.copytree(built, copy)
    return copy


def codes(report) -> list[list]:
    return report.flatten(["code", "file"])


def rewrite_manifests(bag: Path, relative: str) -> None:
    """Make the payload manifests agree with a changed file (so later sections are reached)."""
    for algorithm in ("sha256", "sha512"):
        manifest = bag / f"manifest-{algorithm}.txt"
        digest = hashlib.new(algorithm, (bag / relative).read_bytes()).hexdigest()
        lines = [f"{digest}  {relative}" if line.endswith(f"  {relative}") else line
                 for line in manifest.read_text(encoding="utf-8").splitlines()]  # fmt: skip
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_fresh_deposit_is_valid(bag):
    report = check_deposit(bag)
    assert report.flatten() == []
    assert report.checked == ["bag", "fixity", "data package", "tiers", "consent summary", "identifiers"]


def test_corrupting_one_payload_file_is_named(bag):
    path = bag / PARTICIPANTS
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    found = [f for f in check_deposit(bag) if f.code == "DEP007"]
    assert {(f.code, f.file) for f in found} == {("DEP007", PARTICIPANTS)}
    assert len(found) == 2  # sha256 and sha512


def test_adding_one_payload_file_is_named(bag):
    (bag / "data" / "data" / "extra.csv").write_text("participant_id\nP999\n", encoding="utf-8")
    report = check_deposit(bag)
    assert ["DEP006", "data/data/extra.csv"] in codes(report)
    assert ["DEP009", "bag-info.txt"] in codes(report)


def test_removing_one_payload_file_is_named(bag):
    (bag / PARTICIPANTS).unlink()
    report = check_deposit(bag)
    assert codes(report).count(["DEP005", PARTICIPANTS]) == 2  # listed in both manifests
    assert ["DEP009", "bag-info.txt"] in codes(report)


@pytest.mark.parametrize(
    "text",
    [
        b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version: 1.0\n",
        b"BagIt-Version: one\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nExtra: line\n",
    ],
)
def test_dep001_bagit_txt_exactly_two_lines_without_bom(bag, text):
    (bag / "bagit.txt").write_bytes(text)
    assert "DEP001" in check_deposit(bag).codes()


def test_dep001_missing_bagit_txt_with_manifests_still_checked_as_a_bag(bag):
    (bag / "bagit.txt").unlink()
    assert ["DEP001", "bagit.txt"] in codes(check_deposit(bag))


def test_dep002_no_payload_folder(bag):
    shutil.rmtree(bag / "data")
    report = check_deposit(bag)
    assert ["DEP002", "data/"] in codes(report)


def test_dep003_no_payload_manifest(bag):
    for manifest in bag.glob("manifest-*.txt"):
        manifest.unlink()
    assert ["DEP003", "(bag)"] in codes(check_deposit(bag))


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("abc  data/data/participants.csv", "short checksum"),
        ("0" * 64 + "  ../outside.csv", "leaves the bag"),
        ("0" * 64 + "  /etc/passwd", "absolute"),
        ("0" * 64 + "  bag-info.txt", "tag file in a payload manifest"),
        ("0" * 64, "no path"),
    ],
)
def test_dep004_malformed_or_unsafe_manifest_lines(bag, line, why):
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    assert ["DEP004", "manifest-sha256.txt"] in codes(check_deposit(bag)), why


def test_dep004_duplicate_entry_and_unknown_algorithm(bag):
    manifest = bag / "manifest-sha256.txt"
    first = manifest.read_text(encoding="utf-8").splitlines()[0]
    manifest.write_text(manifest.read_text(encoding="utf-8") + first + "\n", encoding="utf-8")
    (bag / "manifest-crc32.txt").write_text("00000000  data/README.md\n", encoding="utf-8")
    found = codes(check_deposit(bag))
    assert ["DEP004", "manifest-sha256.txt"] in found
    assert ["DEP004", "manifest-crc32.txt"] in found


def test_dep006_every_payload_file_in_every_manifest(bag):
    # bagit-python accepts a file listed in one manifest only; RFC 8493 section 3 does not.
    manifest = bag / "manifest-sha512.txt"
    kept = [x for x in manifest.read_text(encoding="utf-8").splitlines() if not x.endswith("LICENSE")]
    manifest.write_text("\n".join(kept) + "\n", encoding="utf-8")
    report = check_deposit(bag)
    assert [f.message for f in report if f.code == "DEP006"] == [
        "data/LICENSE is in the payload but not listed in manifest-sha512.txt"
    ]


def test_tag_manifest_catches_a_changed_tag_file(bag):
    info = bag / "bag-info.txt"
    info.write_text(info.read_text(encoding="utf-8").replace("Access-Tier: safeguarded", "Access-Tier: open"),
                    encoding="utf-8")  # fmt: skip
    assert ["DEP007", "bag-info.txt"] in codes(check_deposit(bag))


def test_dep008_bag_info_malformed_and_repeated_labels(bag):
    info = bag / "bag-info.txt"
    text = info.read_text(encoding="utf-8")
    oxum = next(x for x in text.splitlines() if x.startswith("Payload-Oxum"))
    info.write_text(text + oxum + "\nno colon here\n", encoding="utf-8")
    found = [f for f in check_deposit(bag) if f.code == "DEP008"]
    assert sorted(f.message for f in found) == [
        "Payload-Oxum appears 2 times",
        f"bag-info.txt line {len(text.splitlines()) + 2} is not 'Label: value'",
    ]


def test_dep009_payload_oxum_mismatch(bag):
    info = bag / "bag-info.txt"
    text = info.read_text(encoding="utf-8")
    oxum = next(x for x in text.splitlines() if x.startswith("Payload-Oxum"))
    info.write_text(text.replace(oxum, "Payload-Oxum: 1.1"), encoding="utf-8")
    assert ["DEP009", "bag-info.txt"] in codes(check_deposit(bag))


def test_dep010_fetch_txt_is_a_warning(bag):
    (bag / "fetch.txt").write_text("https://example.org/x 10 data/x.csv\n", encoding="utf-8")
    report = check_deposit(bag)
    assert [f.severity for f in report if f.code == "DEP010"] == ["warning"]


# --- the data package inside (checked as a plain folder: no manifests to keep in step) ----------


@pytest.fixture
def package(built, tmp_path) -> Path:
    copy = tmp_path / "package"
    shutil.copytree(built / "data", copy)
    return copy


def test_a_plain_data_package_is_checked_without_bag_sections(package):
    report = check_deposit(package)
    assert report.flatten() == []
    assert report.checked == ["data package", "tiers", "consent summary", "identifiers"]


def test_dep020_bag_without_data_package(bag):
    (bag / "data" / "datapackage.json").unlink()
    rewrite = [x for x in (bag / "manifest-sha256.txt").read_text(encoding="utf-8").splitlines()
               if not x.endswith("datapackage.json")]  # fmt: skip
    (bag / "manifest-sha256.txt").write_text("\n".join(rewrite) + "\n", encoding="utf-8")
    assert ["DEP020", "data/datapackage.json"] in codes(check_deposit(bag))


def test_dep021_frictionless_finds_a_bad_cell(package):
    path = package / "data" / "measures" / "wemwbs.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[3] = "9"  # item_01 ranges 1 to 5
    lines[1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = [f for f in check_deposit(package) if f.code == "DEP021"]
    assert ("data/measures/wemwbs.csv", 2, "item_01") in {(f.file, f.row, f.column) for f in found}


def _edit_package(package: Path, change) -> None:
    path = package / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    change(descriptor)
    path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")


def test_dep022_resource_above_the_deposit_tier(package):
    def lower(descriptor):
        descriptor["deposit"]["tier"] = "open"
        descriptor["resources"][2]["access"]["tier"] = "controlled"

    _edit_package(package, lower)
    found = [(f.code, f.file, f.value) for f in check_deposit(package) if f.code == "DEP022"]
    assert ("DEP022", "data/participants.csv", "safeguarded") in found
    assert ("DEP022", "data/measures/wemwbs.csv", "controlled") in found


def test_acc_rules_apply_to_received_packages(package):
    def strip(descriptor):
        del descriptor["resources"][0]["access"]
        descriptor["resources"][1]["access"]["personal_data"] = "identifiable"

    _edit_package(package, strip)
    assert {"ACC001", "ACC002"} <= set(check_deposit(package).codes())


def test_dep023_consent_summary_against_the_data(package):
    path = package / "consent-summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["participants"] += 1
    summary["resources"]["data/participants.csv"]["rows"] -= 1
    path.write_text(json.dumps(summary), encoding="utf-8")
    found = {(f.code, f.column) for f in check_deposit(package) if f.code == "DEP023"}
    assert found == {("DEP023", "participants"), ("DEP023", "data/participants.csv")}


def test_dep024_identifier_left_in_text(package):
    path = package / "data" / "qualitative" / "codebook.csv"
    path.write_text(
        path.read_text(encoding="utf-8") + "zz,Contact,,mail jo.bloggs@example.com\n", encoding="utf-8"
    )
    found = [f for f in check_deposit(package) if f.code == "DEP024"]
    assert [(f.file, f.value) for f in found] == [
        ("data/qualitative/codebook.csv", "j***@*** (email, 21 chars)")
    ]
    assert "bloggs" not in json.dumps(check_deposit(package).to_dict())


# --- could not check, exit codes, the command line ------------------------------------------------


def test_neither_bag_nor_package_could_not_check(tmp_path):
    with pytest.raises(CouldNotCheck):
        check_deposit(tmp_path)
    with pytest.raises(CouldNotCheck):
        check_deposit(tmp_path / "missing")


def test_cli_exit_codes_and_json(bag, tmp_path):
    runner = CliRunner()
    valid = runner.invoke(app, ["check-deposit", str(bag), "--format", "json"])
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.stdout)["valid"] is True
    (bag / PARTICIPANTS).write_text("changed\n", encoding="utf-8")
    invalid = runner.invoke(app, ["check-deposit", str(bag), "--format", "json"])
    assert invalid.exit_code == 1
    assert ["DEP007", PARTICIPANTS] in [
        [f["code"], f["file"]] for f in json.loads(invalid.stdout)["findings"]
    ]
    assert runner.invoke(app, ["check-deposit", str(tmp_path / "nothing")]).exit_code == 2


def test_python_m_studykit_check_deposit_streams(bag):
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_SRC)}
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "check-deposit", str(bag)],
        capture_output=True, text=True, check=False, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "valid, 0 warning(s)" in result.stderr
    assert "Valid: 0 error(s)" in result.stdout


def test_dep011_a_link_in_the_payload_is_named_and_not_followed(bag, tmp_path):
    secret = tmp_path / "outside.csv"
    secret.write_text("participant_id\nP001 jo.bloggs@example.com\n", encoding="utf-8")
    target = bag / "data" / "data" / "qualitative" / "codebook.csv"
    target.unlink()
    target.symlink_to(secret)
    report = check_deposit(bag)
    assert ["DEP011", "data/data/qualitative/codebook.csv"] in codes(report)
    assert "DEP024" not in report.codes()


def test_every_check_deposit_code_is_documented():
    from studykit.deposit.check import RULES

    page = (PACKAGE_SRC.parent / "docs" / "deposit.md").read_text(encoding="utf-8")
    assert [r.code for r in RULES if f"| {r.code} | {r.severity} |" not in page] == []
