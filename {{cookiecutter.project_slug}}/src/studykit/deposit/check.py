"""``check-deposit``: verify a BagIt bag or a data package received from anyone, not only studykit.

Findings are a validation ``Report`` (codes DEP###, plus ACC### for access), so they
render and serialise like ``studykit validate``'s. The checks:

- **bag** (RFC 8493, stricter than bagit-python where it is lax): ``bagit.txt`` exactly
  its two lines, no BOM; a ``data/`` payload folder; at least one payload manifest, of a
  known algorithm, its lines ``checksum path`` with safe relative paths under ``data/``;
  *every* payload file in *every* payload manifest and every entry present; tag
  manifests list only tag files, all present; ``bag-info.txt`` lines well formed, its
  non-repeatable labels once, ``Payload-Oxum`` matching the payload;
- **fixity**: every checksum of every manifest, files hashed in parallel threads
  (``hashlib`` releases the GIL), each file read once for all algorithms;
- **data package** (``datapackage.json`` in the payload, or the folder given):
  frictionless validation (schemas, bytes, hash), each resource's ``access`` (ACC rules)
  and its tier against the deposit's, the consent summary against the data;
- **identifiers left in text** (``studykit.qual.identifiers``): e-mails, phone numbers,
  postcodes, NHS numbers, dates of birth, personal URLs, shown masked.

A problem with the bag is named with its file. ``CouldNotCheck`` (exit 2) when the path
is neither a bag nor a data package.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from studykit.checks.access import check_resource
from studykit.checks.findings import Finding, Report, Rule
from studykit.errors import StudykitError
from studykit.study import TIERS

ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
NOT_REPEATABLE = ("Bagging-Date", "Bag-Size", "Payload-Oxum", "Bag-Group-Identifier", "Bag-Count")
TEXT_SUFFIXES = (".md", ".txt", ".csv", ".json", ".cff")
# Metadata about the depositors (contact e-mail, ORCID links), not about participants.
METADATA_FILES = ("datapackage.json", "ro-crate-metadata.json", "CITATION.cff", "README.md", "LICENSE")
CHUNK = 1 << 20
BAGIT_LINE = (
    re.compile(r"^BagIt-Version: (\d+)\.(\d+)$"),
    re.compile(r"^Tag-File-Character-Encoding: (\S+)$"),
)


def _rule(code: str, layer: str, title: str, explanation: str, fix: str, severity: str = "error") -> Rule:
    return Rule(code, layer, title, severity, explanation, fix)  # type: ignore[arg-type]


_REBAG = "Ask the depositor for a fresh copy, or rebuild the bag (studykit deposit)."
BAGIT_TXT = _rule(
    "DEP001",
    "integrity",
    "bagit.txt missing or malformed",
    "RFC 8493 2.1.1: bagit.txt holds exactly 'BagIt-Version: M.N' and "
    "'Tag-File-Character-Encoding: ENCODING', without a byte-order mark.",
    _REBAG,
)
NO_PAYLOAD = _rule(
    "DEP002",
    "integrity",
    "No payload folder",
    "RFC 8493 2.1.2: a bag has a data/ folder holding the payload.",
    _REBAG,
)
NO_MANIFEST = _rule(
    "DEP003",
    "integrity",
    "No payload manifest",
    "RFC 8493 2.1.3: a bag has at least one manifest-<algorithm>.txt.",
    _REBAG,
)
BAD_MANIFEST = _rule(
    "DEP004",
    "integrity",
    "Manifest line malformed or unsafe",
    "Each manifest line is 'checksum path' with a relative path that stays in the bag "
    "(payload manifests: under data/), listed once, of a known algorithm "
    "(md5, sha1, sha256, sha512).",
    _REBAG,
)
MISSING_FILE = _rule(
    "DEP005",
    "integrity",
    "Listed file missing",
    "A file listed in a manifest is not in the bag: it was removed or never copied.",
    _REBAG,
)
UNLISTED_FILE = _rule(
    "DEP006",
    "integrity",
    "Payload file not in a manifest",
    "RFC 8493 3: every payload file is listed in every payload manifest; this file was added "
    "after bagging, or the manifest is incomplete.",
    _REBAG,
)
CHECKSUM = _rule(
    "DEP007",
    "integrity",
    "Checksum mismatch",
    "The file's checksum differs from its manifest: it was changed or corrupted after bagging.",
    _REBAG,
)
BAG_INFO = _rule(
    "DEP008",
    "integrity",
    "bag-info.txt malformed",
    "RFC 8493 2.2.2: 'Label: value' lines (continuations indented); Bagging-Date, Bag-Size, "
    "Payload-Oxum, Bag-Group-Identifier and Bag-Count appear at most once.",
    _REBAG,
)
OXUM = _rule(
    "DEP009",
    "integrity",
    "Payload-Oxum does not match",
    "Payload-Oxum (octets.files) in bag-info.txt differs from the payload's size or file count.",
    _REBAG,
)
LINK = _rule(
    "DEP011",
    "integrity",
    "Link in the bag",
    "A file in the bag is a symbolic link: what it points to is outside the bag's fixity, and may be "
    "outside the bag altogether. check-deposit never follows it.",
    "Replace the link with the file itself and rebag.",
)
FETCH = _rule(
    "DEP010",
    "integrity",
    "fetch.txt: files outside the bag",
    "The bag names files to fetch from elsewhere; they were not checked.",
    "Fetch them, then check again.",
    "warning",
)
NO_PACKAGE = _rule(
    "DEP020",
    "structure",
    "No data package",
    "The payload has no datapackage.json, so schemas, tiers and consent were not checked.",
    "Ask the depositor for a Frictionless data package.",
    "warning",
)
PACKAGE_INVALID = _rule(
    "DEP021",
    "structure",
    "Data package invalid",
    "frictionless found the data package or a table invalid (type, constraint, key, bytes or hash).",
    "Correct the data or the descriptor and re-deposit.",
)
TIER_ABOVE = _rule(
    "DEP022",
    "governance",
    "Resource above the deposit's tier",
    "A resource's access tier is more restricted than the deposit's (or controlled or internal, "
    "which are never shipped).",
    "Remove the resource, or deposit it at its own tier.",
)
CONSENT_SUMMARY = _rule(
    "DEP023",
    "governance",
    "Consent summary disagrees with the data",
    "consent-summary.json states counts of rows and participants that the data files do not "
    "hold, so what consent took out cannot be trusted.",
    "Rebuild the deposit.",
)
IDENTIFIER = _rule(
    "DEP024",
    "disclosure",
    "Identifier left in text",
    "A direct identifier (e-mail, phone, postcode, NHS number, date of birth, personal URL) is in "
    "a payload file.",
    "Pseudonymise it and rebuild the deposit.",
    "warning",
)
RULES = (
    BAGIT_TXT, NO_PAYLOAD, NO_MANIFEST, BAD_MANIFEST, MISSING_FILE, UNLISTED_FILE, CHECKSUM, BAG_INFO, OXUM,
    FETCH, LINK, NO_PACKAGE, PACKAGE_INVALID, TIER_ABOVE, CONSENT_SUMMARY, IDENTIFIER,
)  # fmt: skip


class CouldNotCheck(StudykitError):
    """The path is not a bag or a data package that can be read (exit 2)."""


def check_deposit(path: Path, *, workers: int | None = None) -> Report:
    """Every finding about the bag or data package at ``path``."""
    path = Path(path)
    report = Report()
    if path.is_file() and path.name == "datapackage.json":
        path = path.parent
    if not path.is_dir():
        msg = "is not a folder (a bag or a folder holding datapackage.json)"
        raise CouldNotCheck(msg, path=path, fix="Unzip a zipped deposit first, then give its folder.")
    if (path / "bagit.txt").is_file() or ((path / "data").is_dir() and any(path.glob("manifest-*.txt"))):
        report.extend(check_bag(path, workers=workers))
        report.checked += ["bag", "fixity"]
        package_root, prefix, tier = path / "data", "data/", _bag_tier(path)
    elif (path / "datapackage.json").is_file():
        package_root, prefix, tier = path, "", None
    else:
        msg = "is neither a BagIt bag (bagit.txt) nor a data package (datapackage.json)"
        raise CouldNotCheck(msg, path=path, fix="Give the bag's top folder or the data package's folder.")
    if package_root.is_dir():
        report.extend(check_package(package_root, prefix, tier))
        report.checked += ["data package", "tiers", "consent summary", "identifiers"]
    return report


# --- the bag ----------------------------------------------------------------------------------


def check_bag(bag: Path, *, workers: int | None = None) -> Iterator[Finding]:
    yield from _bagit_txt(bag)
    if not (bag / "data").is_dir():
        yield NO_PAYLOAD.finding("the bag has no data/ folder", file="data/")
    info, found = _bag_info(bag)
    yield from found
    manifests = {}
    for manifest in sorted(bag.glob("manifest-*.txt")):
        entries, found = _manifest(bag, manifest, payload=True)
        yield from found
        if entries is not None:
            manifests[manifest.name] = entries
    if not manifests:
        yield NO_MANIFEST.finding("the bag has no payload manifest (manifest-<algorithm>.txt)", file="(bag)")
    tag_manifests = {}
    for manifest in sorted(bag.glob("tagmanifest-*.txt")):
        entries, found = _manifest(bag, manifest, payload=False)
        yield from found
        if entries is not None:
            tag_manifests[manifest.name] = entries
    payload = _payload_files(bag)
    for name, entries in manifests.items():
        for missing in sorted(set(entries) - set(payload)):
            yield MISSING_FILE.finding(f"{missing} is listed in {name} but not in the bag", file=missing)
        for extra in sorted(set(payload) - set(entries)):
            yield UNLISTED_FILE.finding(f"{extra} is in the payload but not listed in {name}", file=extra)
    for name, entries in tag_manifests.items():
        for missing in sorted(p for p in entries if not (bag / p).is_file()):
            yield MISSING_FILE.finding(f"{missing} is listed in {name} but not in the bag", file=missing)
    yield from _oxum(info, payload, bag)
    if (bag / "fetch.txt").is_file():
        yield FETCH.finding("fetch.txt names files that are not in the bag", file="fetch.txt")
    yield from fixity(bag, {**manifests, **tag_manifests}, workers=workers)


def _bagit_txt(bag: Path) -> Iterator[Finding]:
    path = bag / "bagit.txt"
    if not path.is_file():
        yield BAGIT_TXT.finding("the bag has no bagit.txt", file="bagit.txt")
        return
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        yield BAGIT_TXT.finding("bagit.txt starts with a byte-order mark", file="bagit.txt")
        return
    lines = raw.decode("utf-8", errors="replace").splitlines()
    if len(lines) != 2:
        yield BAGIT_TXT.finding(f"bagit.txt has {len(lines)} lines, not 2", file="bagit.txt")
        return
    for row, (line, pattern) in enumerate(zip(lines, BAGIT_LINE, strict=True), start=1):
        if not pattern.match(line):
            yield BAGIT_TXT.finding(
                f"bagit.txt line {row} is {line!r}", file="bagit.txt", row=row, value=line
            )


def _bag_info(bag: Path) -> tuple[dict[str, list[str]], list[Finding]]:
    path = bag / "bag-info.txt"
    info: dict[str, list[str]] = {}
    found: list[Finding] = []
    if not path.is_file():
        return info, found
    label = None
    for row, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line[:1] in (" ", "\t") and label is not None:
            info[label][-1] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            message = f"bag-info.txt line {row} is not 'Label: value'"
            found.append(BAG_INFO.finding(message, file="bag-info.txt",
                                          row=row, value=line))  # fmt: skip
            label = None
            continue
        label = name
        info.setdefault(name, []).append(value.strip())
    for name in NOT_REPEATABLE:
        if len(info.get(name, [])) > 1:
            found.append(BAG_INFO.finding(f"{name} appears {len(info[name])} times", file="bag-info.txt",
                                          column=name))  # fmt: skip
    return info, found


def _bag_tier(bag: Path) -> str | None:
    info, _ = _bag_info(bag)
    tiers = info.get("Access-Tier")
    return tiers[0] if tiers else None


def _safe(relative: str) -> bool:
    pure = PurePosixPath(relative)
    return bool(relative) and not pure.is_absolute() and ".." not in pure.parts \
        and not relative.startswith("~") \
        and "\\" not in relative and not re.match(r"^[A-Za-z]:", relative)  # fmt: skip


def _manifest(bag: Path, manifest: Path, *, payload: bool) -> tuple[dict[str, str] | None, list[Finding]]:
    name = manifest.name
    algorithm = name.split("-", 1)[1].removesuffix(".txt")
    if algorithm not in ALGORITHMS:
        return None, [BAD_MANIFEST.finding(f"{name}: unknown algorithm {algorithm!r}", file=name)]
    size = hashlib.new(algorithm).digest_size * 2
    entries: dict[str, str] = {}
    found = []
    text = manifest.read_text(encoding="utf-8", errors="replace")
    for row, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^([0-9A-Fa-f]+)[ \t]+(.+)$", line)
        if not match or len(match.group(1)) != size:
            message = f"{name} line {row} is not '{algorithm} checksum  path'"
            found.append(BAD_MANIFEST.finding(message, file=name,
                                              row=row, value=line))  # fmt: skip
            continue
        relative = unquote(match.group(2)) if "%" in match.group(2) else match.group(2)
        relative = unicodedata.normalize("NFC", relative)
        inside_data = relative.startswith("data/")
        if (
            not _safe(relative)
            or inside_data != payload
            or (not payload and relative.startswith("tagmanifest-"))
        ):
            where = "under data/" if payload else "outside data/ (tag files only)"
            found.append(BAD_MANIFEST.finding(f"{name} line {row}: {relative!r} is not a safe path {where}",
                                              file=name, row=row, value=relative))  # fmt: skip
            continue
        if relative in entries:
            found.append(
                BAD_MANIFEST.finding(f"{name} lists {relative} twice", file=name, row=row, value=relative)
            )
            continue
        entries[relative] = match.group(1).lower()
    return entries, found


def _payload_files(bag: Path) -> list[str]:
    data = bag / "data"
    if not data.is_dir():
        return []
    return sorted(
        unicodedata.normalize("NFC", p.relative_to(bag).as_posix())
        for p in data.rglob("*")
        if p.is_file() or p.is_symlink()
    )


def _oxum(info: dict[str, list[str]], payload: list[str], bag: Path) -> Iterator[Finding]:
    values = info.get("Payload-Oxum")
    if not values:
        return
    match = re.fullmatch(r"(\d+)\.(\d+)", values[0])
    if not match:
        yield BAG_INFO.finding(f"Payload-Oxum {values[0]!r} is not octets.files", file="bag-info.txt",
                               column="Payload-Oxum", value=values[0])  # fmt: skip
        return
    octets = sum((bag / p).stat().st_size for p in payload if (bag / p).is_file())
    if (int(match.group(1)), int(match.group(2))) != (octets, len(payload)):
        yield OXUM.finding(f"Payload-Oxum says {values[0]}; the payload holds {octets}.{len(payload)}",
                           file="bag-info.txt", column="Payload-Oxum", value=values[0])  # fmt: skip


def _hash_file(path: Path, algorithms: tuple[str, ...]) -> dict[str, str] | None:
    """Each algorithm's digest of one file, reading it once; ``None`` when it cannot be read."""
    hashers = [hashlib.new(a) for a in algorithms]
    try:
        with path.open("rb", buffering=0) as handle:
            if len(algorithms) == 1:  # the common case: hashlib's own loop, without the GIL
                return {algorithms[0]: hashlib.file_digest(handle, algorithms[0]).hexdigest()}
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while size := handle.readinto(buffer):
                for hasher in hashers:
                    hasher.update(view[:size])
    except OSError:
        return None
    return {a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}


def fixity(
    bag: Path, manifests: dict[str, dict[str, str]], *, workers: int | None = None
) -> Iterator[Finding]:
    """Every listed file hashed (in parallel threads) and compared with each manifest that lists it."""
    wanted: dict[str, dict[str, tuple[str, str]]] = {}
    for name, entries in manifests.items():
        algorithm = name.split("-", 1)[1].removesuffix(".txt")
        for relative, digest in entries.items():
            wanted.setdefault(relative, {})[algorithm] = (digest, name)
    links = sorted(r for r in wanted if (bag / r).is_symlink())
    for relative in links:
        yield LINK.finding(f"{relative} is a link; it was not followed", file=relative)
    present = sorted(r for r in wanted if (bag / r).is_file() and r not in links)
    workers = workers or min(
        32, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        digests = pool.map(lambda r: _hash_file(bag / r, tuple(sorted(wanted[r]))), present)
        for relative, found in zip(present, digests, strict=True):
            if found is None:
                yield CHECKSUM.finding(f"{relative} cannot be read", file=relative)
                continue
            for algorithm, (expected, name) in sorted(wanted[relative].items()):
                if found[algorithm] != expected:
                    yield CHECKSUM.finding(f"{relative}: {algorithm} differs from {name}", file=relative,
                                           value=found[algorithm])  # fmt: skip


# --- the data package -------------------------------------------------------------------------


def check_package(root: Path, prefix: str, bag_tier: str | None) -> Iterator[Finding]:
    path = root / "datapackage.json"
    if not path.is_file():
        yield NO_PACKAGE.finding("no datapackage.json in the payload", file=f"{prefix}datapackage.json")
        yield from _identifiers(root, prefix)
        return
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield PACKAGE_INVALID.finding(
            f"datapackage.json is not valid JSON ({exc})", file=f"{prefix}datapackage.json"
        )
        return
    if not isinstance(descriptor, dict):
        yield PACKAGE_INVALID.finding(
            "datapackage.json is not a JSON object", file=f"{prefix}datapackage.json"
        )
        return
    yield from _frictionless(path, prefix)
    deposit = descriptor.get("deposit")
    tier = deposit.get("tier") if isinstance(deposit, dict) else bag_tier
    resources = [r for r in descriptor.get("resources") or [] if isinstance(r, dict)]
    for index, resource in enumerate(resources):
        yield from check_resource(resource, index, file=f"{prefix}datapackage.json")
        yield from _tier(resource, tier, prefix)
    yield from _consent_summary(root, prefix, resources)
    yield from _identifiers(root, prefix)


def _frictionless(path: Path, prefix: str) -> Iterator[Finding]:
    from frictionless import Package, system

    with system.use_context(trusted=False):
        report = Package(str(path)).validate()
    for error in report.errors:
        yield PACKAGE_INVALID.finding(f"{error.type}: {error.note}", file=f"{prefix}datapackage.json")
    for task in report.tasks:
        where = f"{prefix}{task.place}" if task.place else f"{prefix}datapackage.json"
        for error in task.errors:
            yield PACKAGE_INVALID.finding(
                f"{error.type}: {error.note}", file=where, row=getattr(error, "row_number", None),
                column=getattr(error, "field_name", None),
            )  # fmt: skip


def _tier(resource: dict[str, Any], tier: str | None, prefix: str) -> Iterator[Finding]:
    access = resource.get("access")
    own = access.get("tier") if isinstance(access, dict) else None
    if own not in TIERS:
        return  # ACC001 says so
    name = resource.get("name", "?")
    file = f"{prefix}{resource.get('path', 'datapackage.json')}"
    if own in ("controlled", "internal"):
        yield TIER_ABOVE.finding(f"resource {name!r} is {own}: never shipped in a deposit",
                                 file=file, value=own)  # fmt: skip
    elif tier in TIERS and TIERS.index(own) > TIERS.index(tier):
        yield TIER_ABOVE.finding(f"resource {name!r} is {own}, above this {tier} deposit",
                                 file=file, value=own)  # fmt: skip


def _consent_summary(root: Path, prefix: str, resources: list[dict[str, Any]]) -> Iterator[Finding]:
    path = root / "consent-summary.json"
    if not path.is_file():
        return
    where = f"{prefix}consent-summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        stated = summary["resources"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        yield CONSENT_SUMMARY.finding("consent-summary.json cannot be read", file=where)
        return
    everyone: set[str] = set()
    for resource in resources:
        relative = resource.get("path")
        file = root / str(relative)
        if (
            not isinstance(relative, str)
            or not file.is_file()
            or file.is_symlink()
            or not relative.endswith(".csv")
        ):
            continue
        rows, ids = _count(file)
        everyone |= ids
        claim = stated.get(relative)
        if not isinstance(claim, dict):
            yield CONSENT_SUMMARY.finding(
                f"{relative} is not in the consent summary", file=where, column=relative
            )
            continue
        if claim.get("rows") != rows:
            message = f"{relative}: the summary says {claim.get('rows')} rows, the file has {rows}"
            yield CONSENT_SUMMARY.finding(message,
                                          file=where, column=relative, value=claim.get("rows"))  # fmt: skip
        if ids and claim.get("participants") != len(ids):
            yield CONSENT_SUMMARY.finding(
                f"{relative}: the summary says {claim.get('participants')} participants, "
                f"the file has {len(ids)}",
                file=where, column=relative, value=claim.get("participants"))  # fmt: skip
    if everyone and summary.get("participants") != len(everyone):
        yield CONSENT_SUMMARY.finding(
            f"the summary says {summary.get('participants')} participants, the tables hold {len(everyone)}",
            file=where, column="participants", value=summary.get("participants"))  # fmt: skip


def _count(path: Path) -> tuple[int, set[str]]:
    import csv

    with path.open(encoding="utf-8-sig", newline="", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        column = header.index("participant_id") if "participant_id" in header else None
        rows = 0
        ids: set[str] = set()
        for row in reader:
            rows += 1
            if column is not None and column < len(row) and row[column]:
                ids.add(row[column])
    return rows, ids


def _identifiers(root: Path, prefix: str) -> Iterator[Finding]:
    from studykit.qual.identifiers import find_identifiers  # phonenumbers loads slowly: only when needed

    texts = (p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix in TEXT_SUFFIXES)
    for path in sorted(p for p in texts if p.relative_to(root).as_posix() not in METADATA_FILES):
        if path.stat().st_size > 50 * CHUNK:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        kinds = Counter()
        for match in find_identifiers(text):
            kinds[match.kind] += 1
            if kinds[match.kind] <= 20:
                where = f"{prefix}{path.relative_to(root).as_posix()}"
                yield IDENTIFIER.finding(f"{match.label} in text", file=where,
                                         row=match.line, value=match.masked)  # fmt: skip
