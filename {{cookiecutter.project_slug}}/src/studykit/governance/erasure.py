"""Erasure after a "remove all data" withdrawal: the manifest of every place, and the logged erase.

``erasure_manifest(study, pid)`` writes nothing. It lists one ``Item`` per place the
participant's data live: rows of every table under ``data/`` with a ``participant_id``
column, transcripts (a transcript of theirs alone, or their turns in a focus group),
coded segments, quotations of theirs in hand-written reports, generated results
(``reports/_results``, ``reports/_variables.yml``: rebuilt, never edited), any other file
naming them, the records of earlier deposits (``governance/deposits/``), git history and
backups. Each item says whether studykit can act on it.

``erase(study, pid, by=...)`` acts on the local items, under the governance lock, only when
the withdrawal register holds a "remove all data" withdrawal with the data protection
officer's decision ``erase`` (``decide`` records that decision as an audited edit). It
writes every changed file, ``governance/erasure-log.csv`` (one line per item: what, where,
action, checksum before, by, when; never the erased content), one ``consent erase`` audit
entry and the data checksums of changed files as one unit (``journal.write_together``),
then deletes whole files. What it cannot do (git history, published deposits, backups) is
returned as steps for a person. The registers keep the participant: the record of the
request and of the decision is what an erasure must leave (domain notes §D).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import importlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NoReturn

from studykit.errors import RegisterError, StudykitError
from studykit.files import git_output, study_relative
from studykit.governance.audit import AuditEntry, appended_log, timestamp, utc_now, who
from studykit.governance.journal import edit_lock, write_together
from studykit.governance.registers import (
    DECISIONS,
    ERASE,
    REMOVE_ALL_DATA,
    Registers,
    Withdrawal,
    load_registers,
)
from studykit.study import Study

LOG_NAME = "erasure-log.csv"
LOG_COLUMNS = ("at", "by", "participant_id", "kind", "location", "action", "sha256_before", "detail")
REDACTED_LABEL = "REDACTED"
REDACTED_TURN = f"**{REDACTED_LABEL}:** [turn removed: the speaker asked for all their data to be erased]"
# Folders never searched for mentions: the registers and logs keep the request by design,
# and code, tools and caches hold no study data.
# docs/ and tests/ are the template's documentation and tests, not study data.
NOT_SEARCHED = {
    ".git",
    "src",
    ".nox",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".bake",
    "governance",
    "docs",
    "tests",
}
GENERATED = ("reports/_results", "reports/_variables.yml")
MAX_SEARCHED_BYTES = 64 << 20
MIN_QUOTE_CHARS = 20
DOC = "See docs/governance.md (Erasure)."


@dataclass(frozen=True)
class Item:
    """One place a participant's data live, and what to do there."""

    kind: str
    path: str | None
    action: str
    automatic: bool
    resource: str | None = None
    rows: tuple[int, ...] = ()
    segments: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()
    cited_in: tuple[str, ...] = ()
    commits: tuple[str, ...] = ()
    sha256: str | None = None
    note: str | None = None
    steps: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Manifest:
    """Everywhere a participant's data live, the request behind it and what blocks ``--apply``."""

    participant_id: str
    request: dict[str, object] | None
    items: tuple[Item, ...]
    blocking: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "dry_run": True,
            "request": self.request,
            "items": [item.to_dict() for item in self.items],
            "blocking": list(self.blocking),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Erasure:
    """What ``--apply`` did (one log line per item) and what is left for a person."""

    participant_id: str
    done: tuple[dict[str, str], ...]
    steps: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "participant_id": self.participant_id,
            "dry_run": False,
            "done": list(self.done),
            "steps": list(self.steps),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Decision:
    """A recorded decision on a removal request (the audited edit ``consent decide``)."""

    entry: AuditEntry

    def to_dict(self) -> dict[str, object]:
        return self.entry.to_dict()


def _refuse(message: str, *, study: Study, path: Path | None = None, fix: str = DOC) -> NoReturn:
    where = study_relative(study, path) if path is not None else None
    sentence = f"refused, nothing changed: {message}"
    raise RegisterError(sentence, path=where, fix=fix)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mentions(pid: str) -> re.Pattern[bytes]:
    """The id not inside a longer id or word (P03 must not match P033; P033_audio.m4a names P033)."""
    return re.compile(rb"(?<![A-Za-z0-9])" + re.escape(pid.encode()) + rb"(?![0-9])")


# --- CSV records, byte for byte -------------------------------------------------------------------


def _records(text: str) -> list[str]:
    """The CSV's records as written (each with its line ending); a quoted line break stays inside."""
    records, start, quoted = [], 0, False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "\n" and not quoted:
            records.append(text[start : index + 1])
            start = index + 1
    if start < len(text):
        records.append(text[start:])
    return records


def _cells(record: str) -> list[str]:
    return next(csv.reader([record.rstrip("\r\n")]), [])


def _csv_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


# --- finding the places ---------------------------------------------------------------------------


@dataclass
class _Qualitative:
    """What the qualitative strand holds of the participant, worked out once for manifest and apply."""

    deleted: dict[str, Path] = field(default_factory=dict)  # transcript id -> file of theirs alone
    redacted: dict[str, tuple[Path, list[tuple[int, int]]]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # segment ids
    segment_rows: list[int] = field(default_factory=list)
    quotes: dict[str, str] = field(default_factory=dict)  # segment id -> the words quoted
    unreadable: list[str] = field(default_factory=list)


def _qualitative(study: Study, pid: str) -> _Qualitative:
    from studykit.qual.transcripts import read_transcript, speaker_at, transcript_paths, turn_text

    found = _Qualitative()
    transcripts = {}
    for path in transcript_paths(study):
        try:
            transcript = read_transcript(path, root=study.root)
        except StudykitError:
            found.unreadable.append(study_relative(study, path))
            continue
        transcripts[transcript.id] = transcript
        theirs = [(t.start, t.end) for t in transcript.turns if t.speaker == pid]
        others = {t.speaker for t in transcript.turns if t.is_participant and t.speaker != pid}
        others |= {p for p in transcript.participants if p != pid}
        if pid not in transcript.participants and not theirs:
            continue
        if others:
            found.redacted[transcript.id] = (path, theirs)
        else:
            found.deleted[transcript.id] = path
    if study.segments_path.is_file():
        records = _records(_csv_text(study.segments_path))
        header = _cells(records[0]) if records else []
        if {"segment_id", "transcript", "start", "end"} <= set(header):
            at = {name: header.index(name) for name in ("segment_id", "transcript", "start", "end")}
            for row, record in enumerate(records[1:], start=2):
                cells = _cells(record)
                if len(cells) < len(header):
                    continue
                sid, tid = cells[at["segment_id"]], cells[at["transcript"]]
                try:
                    start, end = int(cells[at["start"]]), int(cells[at["end"]])
                except ValueError:
                    continue
                spans = found.redacted.get(tid, (None, []))[1]
                if tid in found.deleted or any(s < end and start < e for s, e in spans):
                    found.dropped.append(sid)
                    found.segment_rows.append(row)
                    transcript = transcripts.get(tid)
                    if transcript is not None and speaker_at(transcript, start, end) == pid:
                        found.quotes[sid] = turn_text(transcript, start, end)
    return found


def _resource_names(study: Study) -> dict[str, str]:
    """Data file (study-relative) -> its resource name in datapackage.json, where there is one."""
    try:
        package = json.loads(study.datapackage_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    names = {}
    for resource in package.get("resources", []) if isinstance(package, dict) else []:
        if isinstance(resource, dict) and isinstance(resource.get("path"), str):
            names[resource["path"]] = str(resource.get("name"))
    return names


def _table_items(study: Study, pid: str) -> Iterator[Item]:
    names = _resource_names(study)
    data = study.root / "data"
    skip = {study.segments_path}
    for path in sorted(data.rglob("*.csv")) if data.is_dir() else []:
        if path in skip or not path.is_file() or path.is_symlink():
            continue
        try:
            records = _records(_csv_text(path))
        except (OSError, UnicodeDecodeError):
            continue
        header = [h.strip() for h in _cells(records[0])] if records else []
        if "participant_id" not in header:
            continue
        column = header.index("participant_id")
        rows = tuple(
            row
            for row, record in enumerate(records[1:], start=2)
            if (cells := _cells(record)) and column < len(cells) and cells[column].strip() == pid
        )
        if rows:
            label = study_relative(study, path)
            yield Item(
                "table_rows",
                label,
                "delete_rows",
                automatic=True,
                resource=names.get(label, path.stem),
                rows=rows,
                sha256=_sha256(path.read_bytes()),
            )


def _qualitative_items(study: Study, found: _Qualitative) -> Iterator[Item]:
    for path in found.deleted.values():
        yield Item(
            "transcript",
            study_relative(study, path),
            "delete_file",
            automatic=True,
            sha256=_sha256(path.read_bytes()),
        )
    for path, spans in found.redacted.values():
        yield Item(
            "transcript_turns",
            study_relative(study, path),
            "redact_turns",
            automatic=True,
            sha256=_sha256(path.read_bytes()),
            note=f"{len(spans)} turn(s) of theirs; the other speakers' turns are kept",
        )
    if found.dropped:
        shifted = [study_relative(study, p) for p, spans in found.redacted.values() if spans]
        note = "offsets of the other segments in redacted transcripts are recomputed" if shifted else None
        yield Item(
            "coded_segments",
            study_relative(study, study.segments_path),
            "delete_rows",
            automatic=True,
            rows=tuple(found.segment_rows),
            segments=tuple(found.dropped),
            sha256=_sha256(study.segments_path.read_bytes()),
            note=note,
        )


def _text_files(study: Study) -> Iterator[Path]:
    """Every file of the study outside the folders never searched, in a stable order."""
    for folder, subfolders, names in os.walk(study.root):
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_SEARCHED)
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_SEARCHED_BYTES:
                yield path


def _generated(study: Study, path: Path) -> bool:
    label = study_relative(study, path)
    return any(label == g or label.startswith(g + "/") for g in GENERATED)


def _report_items(study: Study, pid: str, found: _Qualitative, covered: set[str]) -> Iterator[Item]:
    """Files of theirs in data/, reports citing their quotes, generated results, other files naming them."""
    pattern = _mentions(pid)
    quoted = {sid: text for sid, text in found.quotes.items() if len(text) >= MIN_QUOTE_CHARS}
    for path in _text_files(study):
        label = study_relative(study, path)
        if label in covered:
            continue
        data = path.read_bytes()
        if label.startswith("data/") and pattern.search(path.name.encode()):
            # A file named for the participant (an audio recording, a raw export): theirs alone.
            yield Item("raw_file", label, "delete_file", automatic=True, sha256=_sha256(data))
            continue
        text = data.decode("utf-8", errors="replace")
        cites = tuple(
            sid for sid, words in quoted.items() if words in text or re.search(rf"\b{re.escape(sid)}\b", text)
        )
        named = bool(pattern.search(data))
        if not cites and not named:
            continue
        digest = _sha256(data)
        if _generated(study, path):
            yield Item(
                "derived",
                label,
                "rebuild",
                automatic=True,
                quotes=cites,
                sha256=digest,
                note="generated by studykit results: rebuilt, never edited",
            )
        elif cites and label.startswith("reports/"):
            yield Item(
                "quote",
                label,
                "remove_or_replace_quote",
                automatic=False,
                quotes=cites,
                sha256=digest,
                note="a hand-written report: the author removes or replaces the quotation",
            )
        else:
            yield Item(
                "mention",
                label,
                "review_by_hand",
                automatic=False,
                quotes=cites,
                sha256=digest,
                note="names the participant; studykit does not know what else it holds",
            )


def _deposit_items(study: Study, pid: str) -> tuple[list[Item], list[str]]:
    """Earlier deposits holding the participant (each deposit's record of participant ids)."""
    folder = study.governance_dir / "deposits"
    records = sorted([*folder.glob("*.csv"), *folder.glob("*.json")]) if folder.is_dir() else []
    if not records:
        return [], ["no record of an earlier deposit (governance/deposits/ is empty or absent)"]
    items, notes = [], []
    for path in records:
        label = study_relative(study, path)
        try:
            ids = _deposit_ids(path)
        except (OSError, ValueError, UnicodeDecodeError):
            notes.append(f"{label} could not be read; check by hand whether it holds {pid}")
            continue
        if ids is None:
            notes.append(f"{label} has no participant_id column; check by hand whether it holds {pid}")
        elif pid in ids:
            items.append(
                Item(
                    "deposit",
                    label,
                    "new_version_without_participant",
                    automatic=False,
                    note="a published deposit cannot be changed by studykit: publish a new version without "
                    "the participant and ask the repository to restrict the old one",
                )
            )
    return items, notes


def _deposit_ids(path: Path) -> set[str] | None:
    if path.suffix == ".csv":
        records = _records(_csv_text(path))
        header = [h.strip() for h in _cells(records[0])] if records else []
        if "participant_id" not in header:
            return None
        column = header.index("participant_id")
        return {c[column].strip() for r in records[1:] if len(c := _cells(r)) > column}
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data.get("participants", data.get("participant_ids")) if isinstance(data, dict) else data
    if not isinstance(rows, list):
        return None
    return {str(r.get("participant_id")) if isinstance(r, dict) else str(r) for r in rows}


def _git(study: Study, *args: str) -> str | None:
    return git_output(study.root, *args, timeout=120)


def _git_items(study: Study, pid: str, paths: list[str], deleted: list[str]) -> tuple[list[Item], list[str]]:
    """Commits that held the participant's data: the files' history, and changes adding or removing the id."""
    prefix = _git(study, "rev-parse", "--show-prefix")
    if prefix is None:
        return [], ["the study is not a git repository (or git is not installed): no history to check"]
    commits: list[str] = []
    for args in (
        ["log", "--all", "--format=%H", "--", *paths] if paths else None,
        ["log", "--all", "--format=%H", f"-S{pid}"],
    ):
        if args:
            commits += (_git(study, *args) or "").split()
    commits = list(dict.fromkeys(commits))
    if not commits:
        return [], ["git history holds no commit with the participant's files or id"]
    steps = [
        "Rewrite a fresh mirror clone (git filter-repo refuses to rewrite a working clone): "
        "git clone --mirror ORIGIN erase.git && cd erase.git",
    ]
    if deleted:
        prefix = prefix.strip()
        steps.append("git filter-repo --invert-paths " + " ".join(f"--path {prefix}{p}" for p in deleted))
    expression = rf"regex:(?m)^(?:[^\n]*,)?{re.escape(pid)}(?:,[^\n]*)?\r?\n==>"
    steps += [
        f"printf '%s\\n' '{expression}' > erase-{pid}.txt && git filter-repo --replace-text erase-{pid}.txt",
        f"git log --all -S{pid} --oneline   # should print nothing now",
        "git push --force --mirror ORIGIN, then ask every collaborator to clone again",
    ]
    item = Item(
        "git_history",
        None,
        "rewrite_history",
        automatic=False,
        commits=tuple(commits),
        cited_in=tuple(paths),
        note="committed files stay in history; studykit never rewrites it",
        steps=tuple(steps),
    )
    return [item], []


BACKUP = Item(
    "backup",
    None,
    "beyond_use_until_overwritten",
    automatic=False,
    note="backups are outside the study folder",
    steps=(
        "Ask whoever keeps the study's backups to delete the participant's files, or to keep the backups "
        "beyond use until they are overwritten on their normal cycle, and note the date.",
    ),
)


def _request(registers: Registers, pid: str) -> tuple[dict[str, object] | None, list[str]]:
    removal = registers.removal(pid)
    withdrawals = registers.withdrawals_of(pid)
    if removal is None:
        if withdrawals:
            return withdrawals[-1].record(), [
                f'{pid} withdrew with "{withdrawals[-1].scope}": the data already collected are kept by '
                'design; erasure needs a "remove all data" withdrawal'
            ]
        return None, [f'{pid} has no "remove all data" withdrawal in governance/withdrawals.csv']
    request = {
        **removal.record(),
        "decision": removal.decision,
        "decided_by": removal.decided_by,
        "decided_on": removal.decided_on.isoformat() if removal.decided_on else None,
    }
    if removal.decision is None:
        return request, ["no decision recorded on the request (studykit consent decide)"]
    if removal.decision != ERASE:
        return request, [
            f"the decision recorded by {removal.decided_by} on {removal.decided_on} is to retain the data "
            "(research exemption)"
        ]
    return request, []


def erasure_manifest(study: Study, participant_id: str) -> Manifest:
    """Every place the participant's data live (writes nothing). Refuses an unknown participant."""
    manifest, _ = _survey(study, participant_id)
    return manifest


def _survey(study: Study, pid: str) -> tuple[Manifest, _Qualitative]:
    registers = load_registers(study)
    request, blocking = _request(registers, pid)
    found = _qualitative(study, pid)
    items = [*_table_items(study, pid), *_qualitative_items(study, found)]
    if pid not in registers.participants and not items:
        _refuse(
            f"{pid} is not a participant of this study (no register entry, no data)",
            study=study,
            fix="Check the id against governance/consent.csv and data/participants.csv.",
        )
    items += _report_items(study, pid, found, {i.path for i in items if i.path})
    # The coded segments item names which of them are quotations and every file citing one.
    citing = tuple(i.path for i in items if i.quotes and i.path)
    items = [
        replace(i, quotes=tuple(found.quotes), cited_in=citing) if i.kind == "coded_segments" else i
        for i in items
    ]
    deposits, deposit_notes = _deposit_items(study, pid)
    local = [i.path for i in items if i.path]
    deleted = [i.path for i in items if i.action == "delete_file" and i.path]
    history, git_notes = _git_items(study, pid, local, deleted)
    notes = [*deposit_notes, *git_notes]
    notes += [f"{label} could not be read as a transcript; check it by hand" for label in found.unreadable]
    manifest = Manifest(pid, request, (*items, *deposits, *history, BACKUP), tuple(blocking), tuple(notes))
    return manifest, found


# --- deciding and erasing ---------------------------------------------------------------------------


def decide(
    study: Study,
    participant_id: str,
    *,
    decision: str,
    decided_on: dt.date,
    by: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Decision:
    """Record the data protection officer's decision on a removal request (an audited register edit)."""
    now = now or utc_now()
    author = who(study, by)
    path = study.withdrawals_path
    decision = decision.strip().lower()
    if decision not in DECISIONS:
        _refuse(f"{decision!r} is not a decision", study=study, path=path, fix='Use "erase" or "retain".')
    if decided_on > now.date():
        _refuse(f"the date {decided_on} is in the future", study=study, path=path, fix="Use the real date.")
    with edit_lock(study):
        removal = load_registers(study).removal(participant_id)
        if removal is None:
            _refuse(
                f'{participant_id} has no "remove all data" withdrawal to decide on',
                study=study,
                path=path,
                fix='Record the request first: studykit consent withdraw PID --scope "remove all data".',
            )
        if decided_on < removal.withdrawn_on:
            _refuse(
                f"the decision date {decided_on} is before the request ({removal.withdrawn_on})",
                study=study,
                path=path,
                fix="Use the real date.",
            )
        cells = {"decision": decision, "decided_by": author, "decided_on": decided_on.isoformat()}
        entry = AuditEntry(
            at=timestamp(now),
            by=author,
            action="consent decide",
            register=study_relative(study, path),
            participant_id=participant_id,
            record={**removal.record(), **cells},
            previous={
                "decision": removal.decision,
                "decided_by": removal.decided_by,
                "decided_on": removal.decided_on.isoformat() if removal.decided_on else None,
            },
            reason=reason,
        )
        register = _decided_register(path, removal, cells)
        write_together(
            study, {path: register, study.audit_log_path: appended_log(study.audit_log_path, entry)}
        )
    return Decision(entry)


def _decided_register(path: Path, removal: Withdrawal, cells: dict[str, str]) -> bytes:
    """withdrawals.csv with the decision cells filled in on the removal's row (columns added if missing)."""
    raw = path.read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    try:
        encoding, text = "utf-8", raw[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        encoding, text = "latin-1", raw.decode("latin-1")
    ending = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip() for h in rows[0]]
    added = [c for c in cells if c not in header]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=ending)
    writer.writerow([*rows[0], *added])
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        row = [*row, *[""] * (len(header) - len(row)), *[""] * len(added)]
        if number == removal.row:
            for name, value in cells.items():
                row[[*header, *added].index(name)] = value
        writer.writerow(row)
    return bom + out.getvalue().encode(encoding)


def _without_rows(path: Path, rows: set[int]) -> bytes:
    records = _records(path.read_bytes().decode("utf-8-sig"))
    bom = "\ufeff" if path.read_bytes().startswith(b"\xef\xbb\xbf") else ""
    return (bom + "".join(r for n, r in enumerate(records, start=1) if n not in rows)).encode("utf-8")


def _shift(offset: int, spans: list[tuple[int, int]], replacement: int) -> int:
    return offset + sum(replacement - (end - start) for start, end in spans if end <= offset)


def _redacted_transcript(path: Path, pid: str, spans: list[tuple[int, int]]) -> bytes:
    from studykit.qual.transcripts import read_transcript, render_transcript

    transcript = read_transcript(path)
    body = transcript.body
    for start, end in sorted(spans, reverse=True):
        body = body[:start] + REDACTED_TURN + body[end:]
    front = transcript.front_matter()
    front["participants"] = [p for p in transcript.participants if p != pid]
    return render_transcript(front, body).encode("utf-8")


def _segments_after(study: Study, found: _Qualitative) -> bytes:
    path = study.segments_path
    raw = path.read_bytes()
    bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
    records = _records(raw.decode("utf-8-sig"))
    header = _cells(records[0])
    at = {name: header.index(name) for name in ("transcript", "start", "end")}
    dropped = set(found.segment_rows)
    kept = [records[0]]
    for number, record in enumerate(records[1:], start=2):
        if number in dropped:
            continue
        cells = _cells(record)
        spans = found.redacted.get(
            cells[at["transcript"]] if len(cells) > at["transcript"] else "", (None, [])
        )[1]
        if spans and all(c.strip().lstrip("-").isdigit() for c in (cells[at["start"]], cells[at["end"]])):
            for name in ("start", "end"):
                cells[at[name]] = str(_shift(int(cells[at[name]]), spans, len(REDACTED_TURN)))
            ending = record[len(record.rstrip("\r\n")) :]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator=ending).writerow(cells)
            record = buffer.getvalue()
        kept.append(record)
    return (bom + "".join(kept)).encode("utf-8")


def _accepted_checksums(study: Study, changed: dict[Path, bytes], deleted: list[Path]) -> bytes | None:
    """The data checksums manifest with the erased files' new sums (they were accepted before)."""
    from studykit.checks.integrity import manifest_text, read_manifest

    if not study.manifest_path.is_file():
        return None
    recorded, _ = read_manifest(study)
    for path, data in changed.items():
        label = study_relative(study, path)
        if label in recorded:
            recorded[label] = _sha256(data)
    for path in deleted:
        recorded.pop(study_relative(study, path), None)
    return manifest_text(recorded).encode("utf-8")


def _log_bytes(path: Path, rows: list[dict[str, str]]) -> bytes:
    old = path.read_bytes() if path.is_file() else b""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_COLUMNS, lineterminator="\n")
    if not old:
        writer.writeheader()
    elif not old.endswith(b"\n"):
        old += b"\n"
    writer.writerows(rows)
    return old + buffer.getvalue().encode("utf-8")


def _detail(item: Item) -> str:
    parts = []
    if item.rows:
        parts.append(f"{len(item.rows)} row(s) at {', '.join(map(str, item.rows))}")
    if item.segments:
        parts.append(f"segments {', '.join(item.segments)}")
    if item.quotes:
        parts.append(f"quotations {', '.join(item.quotes)}")
    if item.commits:
        parts.append(f"{len(item.commits)} commit(s)")
    return "; ".join(parts)


DONE = {
    "delete_rows": "rows deleted",
    "delete_file": "deleted",
    "redact_turns": "redacted",
    "rebuild": "deleted for rebuild",
}


def erase(
    study: Study, participant_id: str, *, by: str | None = None, now: dt.datetime | None = None
) -> Erasure:
    """Erase the participant's local data after a decision to erase; log it; return what is left to do."""
    now = now or utc_now()
    author = who(study, by)
    pid = participant_id
    with edit_lock(study):
        manifest, found = _survey(study, pid)
        if manifest.blocking:
            _refuse(
                manifest.blocking[0],
                study=study,
                path=study.withdrawals_path,
                fix=_unblock(pid, manifest.request),
            )
        results = _results_module()
        changed: dict[Path, bytes] = {}
        deleted: list[Path] = []
        for item in manifest.items:
            if not item.automatic or item.path is None:
                continue
            path = study.root / item.path
            if item.kind == "table_rows":
                changed[path] = _without_rows(path, set(item.rows))
            elif item.kind in ("transcript", "raw_file"):
                deleted.append(path)
            elif item.kind == "transcript_turns":
                spans = next(s for p, s in found.redacted.values() if p == path)
                changed[path] = _redacted_transcript(path, pid, spans)
            elif item.kind == "coded_segments":
                changed[path] = _segments_after(study, found)
            elif item.kind == "derived":
                deleted.append(path)  # stale: never edited, studykit results writes it again
        at = timestamp(now)
        log_rows = [
            {
                "at": at,
                "by": author,
                "participant_id": pid,
                "kind": item.kind,
                "location": item.path or "",
                "action": DONE.get(item.action, "") if item.automatic else f"for a person: {item.action}",
                "sha256_before": item.sha256 or "",
                "detail": _detail(item),
            }
            for item in manifest.items
        ]
        log = study.governance_dir / LOG_NAME
        entry = AuditEntry(
            at=at,
            by=author,
            action="consent erase",
            register=study_relative(study, log),
            participant_id=pid,
            record={"items": len(manifest.items), "automatic": sum(i.automatic for i in manifest.items)},
            previous=None,
        )
        files = {
            **changed,
            log: _log_bytes(log, log_rows),
            study.audit_log_path: appended_log(study.audit_log_path, entry),
        }
        checksums = _accepted_checksums(study, changed, deleted)
        if checksums is not None:
            files[study.manifest_path] = checksums
        write_together(study, files)
        for path in deleted:
            path.unlink(missing_ok=True)
    notes = list(manifest.notes)
    steps = [step for item in manifest.items if not item.automatic for step in _steps(item)]
    if any(i.kind == "derived" for i in manifest.items) or results is not None:
        steps += _rebuild(study, results, notes)
    return Erasure(pid, tuple(log_rows), tuple(steps), tuple(notes))


def _unblock(pid: str, request: dict[str, object] | None) -> str:
    """What would let ``--apply`` run, for the request as it stands."""
    if request is None or request.get("scope") != REMOVE_ALL_DATA:
        return (
            f'Only a "remove all data" request leads to erasure: studykit consent withdraw {pid} '
            f'--scope "remove all data", then the data protection officer\'s decision. {DOC}'
        )
    if request.get("decision") is None:
        return (
            "Record the data protection officer's decision: studykit consent decide "
            f"{pid} --decision erase --by NAME --on YYYY-MM-DD. {DOC}"
        )
    return (
        "Nothing is erased while the decision is to retain; a new decision (studykit consent decide) "
        f"replaces it. {DOC}"
    )


def _steps(item: Item) -> list[str]:
    if item.steps:
        return list(item.steps)
    if item.kind == "quote":
        return [f"Remove or replace quotation(s) {', '.join(item.quotes)} in {item.path}."]
    if item.kind == "deposit":
        return [
            f"Deposit recorded in {item.path}: publish a new version without the participant and ask the "
            "repository to restrict the old version (Zenodo: support form, request to restrict files)."
        ]
    return [f"Review {item.path}: it names the participant; remove what is theirs by hand."]


def _results_module() -> object | None:
    try:
        return importlib.import_module("studykit.results")
    except ImportError:
        return None


def _rebuild(study: Study, results: object | None, notes: list[str]) -> list[str]:
    """Rebuild the generated results; the step for a person when studykit cannot."""
    if results is None:
        return ["Rebuild the generated results without the participant: studykit results."]
    try:
        results.write_results(study)  # type: ignore[attr-defined]
    except StudykitError as exc:
        return [f"Rebuild the generated results (studykit results): it failed here ({exc})."]
    notes.append("generated results rebuilt (studykit results)")
    return []
