"""Issue 16: no command writes through a link or out of the study; reads stay in it and stay bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from studykit.checks import validate
from studykit.checks.integrity import accept, checksums, read_manifest
from studykit.cli import app
from studykit.errors import (
    DataErrorsFound,
    FileWriteError,
    QualitativeDataError,
    StudyConfigError,
    UnsafePathError,
)
from studykit.qual import refi
from studykit.qual.identifiers import MAX_KEY_BYTES, read_identity_key
from studykit.qual.pseudonymise import pseudonymise_transcript
from studykit.qual.transcripts import read_transcript, transcript_paths, write_transcript
from studykit.study import load_study
from typer.testing import CliRunner

from tests.package.qual_study import front_matter, make_qual_study, transcript_text
from tests.package.test_files import fsize_limit
from tests.package.test_validate import PACKAGE_SRC, make_study, snapshot

RAW = "**INT:** How was it?\n\n**P001:** I'm Zelda Quorthwick, email zq@example.org.\n"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def temporaries(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.tmp"))


# --- validate --accept: the manifest -----------------------------------------------------------------


def test_accept_refuses_a_committed_link_at_the_manifest(tmp_path):
    root = make_study(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("not the study's\n", encoding="utf-8")
    (root / "governance" / "manifest.sha256").symlink_to(victim)
    result = invoke("validate", "-C", str(root), "--accept")
    assert result.exit_code == 2
    assert "governance/manifest.sha256: is a link to" in result.stderr.replace("\n", "")
    assert victim.read_text(encoding="utf-8") == "not the study's\n"
    assert (root / "governance" / "manifest.sha256").is_symlink()


def test_accept_refuses_a_governance_folder_linked_outside(tmp_path):
    root = make_study(tmp_path)
    outside = tmp_path / "outside"
    (root / "governance").rename(outside)
    (root / "governance").symlink_to(outside)
    # The registers cannot be read through the link either, so accept stops at validation first.
    with pytest.raises((UnsafePathError, DataErrorsFound), match=r"leads outside|consent\.csv"):
        accept(load_study(root))
    assert not (outside / "manifest.sha256").exists()


def test_a_newline_in_a_data_file_name_cannot_inject_a_manifest_line(tmp_path):
    root = make_study(tmp_path)
    fake = "0" * 64
    odd = root / "data" / f"notes\n{fake}  data\\x.csv"
    odd.write_text("hello\n", encoding="utf-8")
    study = load_study(root)
    manifest = accept(study)
    lines = manifest.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(checksums(study))
    escaped = [line for line in lines if line.startswith("\\")]
    assert len(escaped) == 1
    assert escaped[0].endswith(f"  data/notes\\n{fake}  data\\\\x.csv")
    recorded, bad = read_manifest(study)
    assert bad == []
    assert recorded == checksums(study)
    assert not [f for f in validate(study).findings if f.layer == "integrity"]


def test_the_manifest_with_an_escaped_name_passes_sha256sum_check(tmp_path):
    root = make_study(tmp_path)
    (root / "data" / "a\nb.csv").write_text("x\n", encoding="utf-8")
    accept(load_study(root))
    result = subprocess.run(
        ["sha256sum", "-c", "governance/manifest.sha256"],
        cwd=root, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- validate --output -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative", ["governance/consent.csv", "study.yml", "datapackage.json", "instruments/mood.yml", "data"]
)
def test_validate_output_refuses_study_owned_paths_and_changes_nothing(tmp_path, relative):
    root = make_study(tmp_path)
    before = snapshot(root)
    result = invoke("validate", "-C", str(root), "--output", str(root / relative))
    assert result.exit_code == 2
    assert "is one of the study's own files" in result.stderr.replace("\n", " ")
    assert snapshot(root) == before


def test_validate_output_to_a_folder_is_a_sentence_and_exit_2(tmp_path):
    root = make_study(tmp_path)
    result = invoke("validate", "-C", str(root), "--output", str(tmp_path))
    assert result.exit_code == 2
    assert "is a folder; --output needs a file name" in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output


# --- package sync --------------------------------------------------------------------------------------


def test_package_sync_refuses_a_linked_datapackage_json(tmp_path):
    root = make_study(tmp_path)
    victim = tmp_path / "victim.json"
    victim.write_text("{}\n", encoding="utf-8")
    (root / "datapackage.json").unlink()
    (root / "datapackage.json").symlink_to(victim)
    result = invoke("package", "sync", "-C", str(root))
    assert result.exit_code == 2
    assert "never writes through a link" in result.stderr.replace("\n", " ")
    assert victim.read_text(encoding="utf-8") == "{}\n"


def test_package_sync_on_a_full_disk_exits_2_with_a_sentence_and_keeps_the_old_file(tmp_path):
    root = make_study(tmp_path)
    (root / "datapackage.json").write_text("{}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "package", "sync", "-C", str(root)],
        env={**os.environ, "PYTHONPATH": str(PACKAGE_SRC), "COLUMNS": "200"},
        preexec_fn=fsize_limit(512),  # the write fails as on a full disk (EFBIG), in the child only
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 2
    assert "datapackage.json: cannot be written (File too large)." in result.stderr
    assert "Traceback" not in result.stderr
    assert (root / "datapackage.json").read_text(encoding="utf-8") == "{}\n"
    assert temporaries(root) == []


# --- qual pseudonymise ---------------------------------------------------------------------------------


def lab(tmp_path: Path):
    raw = tmp_path / "secure" / "raw"
    raw.mkdir(parents=True)
    (raw / "INT-P001-T1.md").write_text(transcript_text(front_matter("INT-P001-T1"), RAW), encoding="utf-8")
    study = make_qual_study(tmp_path, transcripts={})
    return study, raw / "INT-P001-T1.md"


def test_pseudonymise_refuses_a_map_linked_from_inside_the_study(tmp_path):
    study, source = lab(tmp_path)
    real_map = tmp_path / "secure" / "pseudonyms.csv"
    link = study.root / "pseudonyms.csv"
    link.symlink_to(real_map)
    with pytest.raises(QualitativeDataError, match="would be inside the study folder"):
        pseudonymise_transcript(study, source, map_path=link, log_dir=tmp_path / "secure" / "logs")
    assert link.is_symlink()
    assert not real_map.exists()
    assert transcript_paths(study) == []


def test_pseudonymise_refuses_a_map_that_is_a_link_outside_the_study(tmp_path):
    study, source = lab(tmp_path)
    victim = tmp_path / "victim.csv"
    victim.write_text("original,kind,pseudonym\n", encoding="utf-8")
    link = tmp_path / "secure" / "pseudonyms.csv"
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="never writes through a link"):
        pseudonymise_transcript(study, source, map_path=link, log_dir=tmp_path / "secure" / "logs")
    assert victim.read_text(encoding="utf-8") == "original,kind,pseudonym\n"
    assert transcript_paths(study) == []


def test_pseudonymise_failure_leaves_no_copy_without_its_map(tmp_path):
    study, source = lab(tmp_path)
    map_path = tmp_path / "secure" / "pseudonyms.csv"
    blocker = tmp_path / "secure" / "logs"
    blocker.write_text("a file where the log folder should be\n", encoding="utf-8")
    with pytest.raises(FileWriteError, match="cannot be written"):
        pseudonymise_transcript(study, source, map_path=map_path, log_dir=blocker)
    assert not map_path.exists()
    assert transcript_paths(study) == []
    assert temporaries(tmp_path) == []


def test_pseudonymise_writes_map_log_and_copy_together(tmp_path):
    study, source = lab(tmp_path)
    map_path = tmp_path / "secure" / "pseudonyms.csv"
    result = pseudonymise_transcript(study, source, map_path=map_path, log_dir=tmp_path / "secure" / "logs")
    assert "[Email1]" in result.output.read_text(encoding="utf-8")
    assert "zq@example.org,email,[Email1]" in map_path.read_text(encoding="utf-8")
    assert "zq@example.org" in result.log.read_text(encoding="utf-8")
    assert temporaries(tmp_path) == []


def test_pseudonymise_warns_when_git_would_commit_the_map_and_log(tmp_path):
    study, source = lab(tmp_path)
    secure = tmp_path / "secure"
    subprocess.run(["git", "init", "-q", str(secure)], check=True)
    map_path, logs = secure / "pseudonyms.csv", secure / "logs"
    result = pseudonymise_transcript(study, source, map_path=map_path, log_dir=logs)
    warnings = [w for w in result.warnings if "git does not ignore it" in w]
    assert len(warnings) == 2
    assert "pseudonym map" in warnings[0]
    assert "a commit would publish the real identifiers" in warnings[0]
    assert "anonymisation log" in warnings[1]


def test_pseudonymise_does_not_warn_when_git_ignores_them(tmp_path):
    study, source = lab(tmp_path)
    secure = tmp_path / "secure"
    subprocess.run(["git", "init", "-q", str(secure)], check=True)
    (secure / ".gitignore").write_text("pseudonyms.csv\nlogs/\n", encoding="utf-8")
    map_path, logs = secure / "pseudonyms.csv", secure / "logs"
    result = pseudonymise_transcript(study, source, map_path=map_path, log_dir=logs)
    assert not [w for w in result.warnings if "git" in w]


# --- reads that reach too far --------------------------------------------------------------------------


def test_a_data_file_linked_outside_the_study_is_a_finding_and_never_hashed(tmp_path):
    root = make_study(tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("names of people\n", encoding="utf-8")
    (root / "data" / "extra.csv").symlink_to(secret)
    study = load_study(root)
    findings = [f for f in validate(study).findings if f.code == "INT006"]
    assert [(f.file, f.severity) for f in findings] == [("data/extra.csv", "error")]
    assert f"is a link to {secret.resolve().as_posix()}, outside the study" in findings[0].message
    assert "data/extra.csv" not in checksums(study)
    assert "extra.csv" not in accept(study).read_text(encoding="utf-8")


def test_a_transcript_linked_outside_the_study_is_not_read(tmp_path):
    study = make_qual_study(tmp_path)
    outside = tmp_path / "elsewhere.md"
    outside.write_text(transcript_text(front_matter("INT-P009-T1"), RAW), encoding="utf-8")
    link = study.transcripts_dir / "INT-P009-T1.md"
    link.symlink_to(outside)
    assert link not in transcript_paths(study)
    assert [p.name for p in transcript_paths(study)] == ["FG-01-T2.md", "INT-P001-T1.md"]
    findings = [f for f in validate(study).findings if f.code == "INT006"]
    assert [f.file for f in findings] == ["data/qualitative/transcripts/INT-P009-T1.md"]
    assert not [f for f in validate(study).findings if f.code.startswith("DIS") and "INT-P009" in f.file]


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join([*lines, "title: *i"]) + "\n"


def test_a_yaml_alias_bomb_in_study_yml_is_refused_at_once(tmp_path):
    (tmp_path / "study.yml").write_text(billion_laughs(), encoding="utf-8")
    assert len(billion_laughs()) < 600
    started = time.perf_counter()
    refused = r"is refused: its aliases \(\*name\) expand it to more than 100,000"
    with pytest.raises(StudyConfigError, match=refused):
        load_study(tmp_path)
    assert time.perf_counter() - started < 5


def test_a_yaml_value_containing_itself_is_refused(tmp_path):
    (tmp_path / "study.yml").write_text("a: &a [*a]\ntitle: *a\n", encoding="utf-8")
    with pytest.raises(StudyConfigError, match="a value contains itself through an alias"):
        load_study(tmp_path)


def test_a_large_wrong_value_is_quoted_short(tmp_path):
    values = ", ".join(f'"value number {i}"' for i in range(5000))
    (tmp_path / "study.yml").write_text(f"title: [{values}]\n", encoding="utf-8")
    with pytest.raises(StudyConfigError) as raised:
        load_study(tmp_path)
    quoted = "not ['value number 0', 'value number 1', 'value number 2', 'value number 3', "
    assert quoted in str(raised.value)
    assert len(str(raised.value)) < 1000


def test_an_alias_bomb_in_transcript_front_matter_is_refused(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    path = study.transcripts_dir / "INT-P001-T1.md"
    path.write_text("---\n" + billion_laughs() + "---\nbody\n", encoding="utf-8")
    with pytest.raises(QualitativeDataError, match="expand it to more than 100,000 values"):
        read_transcript(path)


def test_identity_key_that_is_a_device_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(QualitativeDataError, match="identity key is not a regular file"):
        read_identity_key(Path("/dev/zero"))
    assert time.perf_counter() - started < 1


def test_identity_key_that_is_a_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "key.csv"
    os.mkfifo(fifo)
    with pytest.raises(QualitativeDataError, match="identity key is not a regular file"):
        read_identity_key(fifo)


def test_identity_key_larger_than_the_cap_is_refused(tmp_path):
    key = tmp_path / "key.csv"
    with key.open("wb") as handle:
        handle.truncate(MAX_KEY_BYTES + 1)
    refused = r"identity key is 10,485,761 bytes, more than the 10,485,760"
    with pytest.raises(QualitativeDataError, match=refused):
        read_identity_key(key)


# --- qualitative exchange and transcripts -------------------------------------------------------------


def test_qdpx_export_refuses_a_link_as_its_output(tmp_path):
    study = make_qual_study(tmp_path)
    victim = tmp_path / "victim.qdpx"
    victim.write_bytes(b"keep")
    link = tmp_path / "out.qdpx"
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="never writes through a link"):
        refi.export_qdpx(study, link)
    assert victim.read_bytes() == b"keep"


def test_qdpx_import_refuses_a_study_folder_linked_outside(tmp_path):
    source = make_qual_study(tmp_path / "source")
    project = refi.export_qdpx(source, tmp_path / "project.qdpx").written[0]
    target = make_qual_study(tmp_path / "target", transcripts={})
    outside = tmp_path / "outside"
    target.qualitative_dir.rename(outside)
    target.qualitative_dir.symlink_to(outside)
    before = sorted(p.name for p in outside.rglob("*"))
    with pytest.raises((UnsafePathError, QualitativeDataError), match=r"outside the study|leads outside"):
        refi.import_qdpx(target, project, by="Test Person")
    assert sorted(p.name for p in outside.rglob("*")) == before


def test_write_transcript_refuses_a_link(tmp_path):
    victim = tmp_path / "victim.md"
    victim.write_text("keep\n", encoding="utf-8")
    link = tmp_path / "T-1.md"
    link.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="never writes through a link"):
        write_transcript(link, front_matter("T-1"), "**P001:** hello\n", replace=True)
    assert victim.read_text(encoding="utf-8") == "keep\n"


def test_a_table_linked_outside_the_study_is_never_read(tmp_path):
    root = make_study(tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("participant_id,wave,completed_on,item_01\nP999,T1,2024-01-01,SECRET\n", "utf-8")
    (root / "data" / "measures" / "mood.csv").unlink()
    (root / "data" / "measures" / "mood.csv").symlink_to(secret)
    report = validate(load_study(root))
    about = [f for f in report.findings if f.file == "data/measures/mood.csv"]
    assert [f.code for f in about] == ["STR002"]
    assert f"is a link to {secret.resolve().as_posix()}, outside the study" in about[0].message
    assert not [f for f in report.findings if "SECRET" in str(f.value) or "P999" in str(f.value)]


def test_an_alias_bomb_in_ethics_yml_is_a_register_error(tmp_path):
    from studykit.errors import RegisterError
    from studykit.governance.registers import read_ethics

    path = tmp_path / "ethics.yml"
    path.write_text(billion_laughs(), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(RegisterError, match="expand it to more than 100,000 values"):
        read_ethics(path)
    assert time.perf_counter() - started < 2


# --- validation never uses the network (issue 16) --------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    import socket

    def refuse(*args, **kwargs):
        pytest.fail(f"validation tried to use the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize(
    ("key", "url"),
    [("profile", "http://127.0.0.1:9/evil-profile.json"), ("$schema", "https://example.org/schema.json")],
)
def test_a_remote_profile_is_a_finding_and_never_fetched(tmp_path, no_network, key, url):
    import json

    root = make_study(tmp_path)
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    descriptor[key] = url
    descriptor["resources"][0]["schema"] = "https://example.org/table-schema.json"
    (root / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    report = validate(load_study(root))
    assert not report.not_run
    found = [(f.code, f.column) for f in report.findings if f.code == "STR024"]
    assert sorted(found) == sorted([("STR024", key), ("STR024", "resources[0].schema")])


def test_the_official_profiles_are_not_remote():
    from studykit.checks.structure import remote_references

    descriptor = {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "profile": "data-package",
        "resources": [{"path": "data/x.csv", "profile": "tabular-data-resource"}],
    }
    assert remote_references(descriptor) == []
