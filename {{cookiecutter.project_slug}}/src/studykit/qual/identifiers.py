"""Detectors for direct identifiers left in text: pure functions, no I/O except reading the identity key.

Following UK Data Service advice, studykit *flags candidates* and a person decides;
nothing here changes text. Each ``IdentifierMatch`` carries its kind, line and
code-point span plus a masked form (first character and length, e.g.
``j***@*** (email, 19 chars)``), so reports never repeat the identifier itself.

Detected: e-mail addresses; phone numbers (UK and international, with the
``phonenumbers`` library, plus any UK mobile-shaped number); UK postcodes; NHS
numbers (10 digits passing the mod-11 check); dates of birth (a date next to a
cue such as "date of birth", "D.O.B.", "born on" or "born in"; a month and year
counts after such a cue); URLs to personal profiles or
containing a known name; and names from the study's identity key. Ordinary
dates (an interview on 2024-02-05) and participant ids (P001) are not flagged.
"""

from __future__ import annotations

import csv
import io
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import phonenumbers

from studykit.errors import QualitativeDataError

MAX_KEY_BYTES = 10 * 1024 * 1024
"""An identity key lists participants' names: 10 MiB holds hundreds of thousands of them."""

Kind = Literal["email", "phone", "postcode", "nhs_number", "date_of_birth", "url", "name"]
KINDS: tuple[Kind, ...] = ("email", "url", "nhs_number", "phone", "postcode", "date_of_birth", "name")
"""Also the priority order when two detectors claim overlapping text."""

LABELS: dict[str, str] = {
    "email": "email",
    "phone": "phone number",
    "postcode": "UK postcode",
    "nhs_number": "NHS number",
    "date_of_birth": "date of birth",
    "url": "URL with a name",
    "name": "name from the identity key",
}
SHORT_LABELS: dict[str, str] = {**LABELS, "postcode": "postcode", "url": "URL", "name": "name"}
"""Labels inside masks, short enough that a masked value fits a finding's value field."""

EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]\"']+", re.IGNORECASE)
PROFILE_DOMAINS = re.compile(
    r"(?:^|\.)(?:facebook\.com|fb\.com|linkedin\.com|twitter\.com|x\.com|instagram\.com|tiktok\.com|"
    r"youtube\.com|threads\.net|bsky\.app|github\.com|medium\.com|about\.me|substack\.com)$",
    re.IGNORECASE,
)
# Royal Mail formats: outward code (A9, A99, A9A, AA9, AA99, AA9A) and inward code (9AA,
# whose letters exclude C I K M O V); GIR 0AA is the one special case. Only eight postcode
# areas are a single letter (Birmingham, London E/N/W, Glasgow, Liverpool, Manchester,
# Sheffield), so "T1 2ND" (a wave id and an ordinal) is not a postcode.
SINGLE_LETTER_AREAS = "BEGLMNSW"
POSTCODE = re.compile(
    rf"\b(?:GIR ?0AA|(?:[{SINGLE_LETTER_AREAS}][0-9][0-9A-HJKPSTUW]?"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?) ?[0-9][ABD-HJLNP-UW-Z]{2})\b"
)
# In lower case an inward code that reads as an ordinal ("w1 2nd", "b1 1st") is the ordinal.
POSTCODE_ANY_CASE = re.compile(
    POSTCODE.pattern.replace(" ?", " ").replace(r"[0-9][ABD", r"(?![0-9](?:st|nd|rd|th)\b)[0-9][ABD"),
    re.IGNORECASE,
)
NHS = re.compile(r"(?<![\d-])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![\d-])")
UK_MOBILE = re.compile(r"(?<![\d+])(?:\+44\s?7\d{3}|\(?07\d{3}\)?)\s?\d{3}\s?\d{3}(?!\d)")

MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS}\.?,?\s+\d{{4}}"
    rf"|{MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|{MONTHS}\.?,?\s+(?:of\s+)?\d{{4}})"  # month and year: "born in March 1985"
)
# The cue ends where a word would end: "D.O.B.:" ends in a full stop, where \b cannot match.
BIRTH_CUE = (
    r"\b(?:date\s+of\s+birth|d\.?\s?o\.?\s?b\b\.?|birth\s*date|birthday|"
    r"born(?:\s+(?:on|in))?)(?!\w)"
)
DOB = re.compile(
    rf"{BIRTH_CUE}(?:'s)?[\s:,-]*(?:was\s+|is\s+|the\s+|in\s+)*(?P<date>{DATE})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class IdentifierMatch:
    """A candidate identifier: where it is and a masked form. The text itself is not kept."""

    kind: Kind
    line: int
    start: int
    end: int
    masked: str
    certain: bool = True
    """False for weaker evidence (a single name token rather than a full name)."""

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def mask(value: str, kind: str) -> str:
    """First character and length only: ``j***@*** (email, 19 chars)``, ``9*** (NHS number, 12 chars)``."""
    first = value[:1] or "?"
    stars = "***@***" if kind == "email" else "***"
    return f"{first}{stars} ({SHORT_LABELS.get(kind, kind)}, {len(value)} chars)"


def nhs_checksum_ok(digits: str) -> bool:
    """The NHS number mod-11 check: weights 10..2 on the first nine digits; 10 is never valid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _emails(text: str) -> Iterable[tuple[int, int]]:
    return ((m.start(), m.end()) for m in EMAIL.finditer(text))


def _nhs_numbers(text: str) -> Iterable[tuple[int, int]]:
    for m in NHS.finditer(text):
        if nhs_checksum_ok(m[1] + m[3] + m[4]):
            yield m.start(), m.end()


def _phones(text: str, region: str) -> Iterable[tuple[int, int]]:
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        yield m.start, m.end
    # Unallocated but UK-mobile-shaped numbers (a typo, a new range) are still someone's number.
    for m in UK_MOBILE.finditer(text):
        yield m.start(), m.end()


def _postcodes(text: str) -> Iterable[tuple[int, int]]:
    for m in POSTCODE.finditer(text):
        yield m.start(), m.end()
    # Lower case only with the space, so words such as "b12abc" are not taken for postcodes.
    for m in POSTCODE_ANY_CASE.finditer(text):
        yield m.start(), m.end()


def _dates_of_birth(text: str) -> Iterable[tuple[int, int]]:
    for m in DOB.finditer(text):
        yield m.start("date"), m.end("date")


def name_variants(names: Iterable[str]) -> dict[str, str]:
    """Surface forms to search for, each mapped to the full name it comes from.

    The full name, and each part of three letters or more (a first name or surname on
    its own). A part shared by two people maps to the first of them.
    """
    variants: dict[str, str] = {}
    full = [" ".join(n.split()) for n in names if n and n.strip()]
    for name in full:
        variants.setdefault(name, name)
    for name in full:
        for part in re.split(r"[\s]+", name):
            part = part.strip(".,")
            if len(part) >= 3:
                variants.setdefault(part, name)
    return variants


def _name_pattern(variants: Iterable[str]) -> re.Pattern[str] | None:
    forms = sorted(set(variants), key=len, reverse=True)  # longest first: full names before their parts
    if not forms:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(w) for w in form.split()) for form in forms)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _names(text: str, pattern: re.Pattern[str] | None) -> Iterable[tuple[int, int, bool]]:
    if pattern is None:
        return
    for m in pattern.finditer(text):
        yield m.start(), m.end(), bool(re.search(r"\s", m[0]))


def _urls(text: str, name_parts: Iterable[str]) -> Iterable[tuple[int, int]]:
    parts = [p.lower() for p in name_parts]
    for m in URL.finditer(text):
        url = m[0].rstrip(".,;:!?")
        host, _, path = re.sub(r"^(?:https?://)", "", url, flags=re.IGNORECASE).partition("/")
        host = host.split(":")[0].removeprefix("www.")
        personal = bool(PROFILE_DOMAINS.search(host)) and bool(path.strip("/"))
        named = any(p in url.lower() for p in parts)
        if personal or named or "~" in path:
            yield m.start(), m.start() + len(url)


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer(r"\n", text))]


def find_identifiers(
    text: str,
    *,
    names: Iterable[str] = (),
    region: str = "GB",
    first_line: int = 1,
) -> list[IdentifierMatch]:
    """Every candidate identifier in ``text``, in order; overlaps resolved by kind priority.

    ``names`` are real names from the identity key; ``first_line`` is the line number
    of the text's first line in its file, so matches carry file lines.
    """
    variants = name_variants(names)
    pattern = _name_pattern(variants)
    candidates: list[tuple[int, int, Kind, bool]] = []
    candidates += [(s, e, "email", True) for s, e in _emails(text)]
    candidates += [(s, e, "url", True) for s, e in _urls(text, [v for v in variants if " " not in v])]
    candidates += [(s, e, "nhs_number", True) for s, e in _nhs_numbers(text)]
    candidates += [(s, e, "phone", True) for s, e in _phones(text, region)]
    candidates += [(s, e, "postcode", True) for s, e in _postcodes(text)]
    candidates += [(s, e, "date_of_birth", True) for s, e in _dates_of_birth(text)]
    candidates += [(s, e, "name", full) for s, e, full in _names(text, pattern)]
    # Priority by kind, then the longer match: an NHS number is not also reported as a phone number.
    candidates.sort(key=lambda c: (KINDS.index(c[2]), -(c[1] - c[0]), c[0]))
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[int, int, Kind, bool]] = []
    for start, end, kind, certain in candidates:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        chosen.append((start, end, kind, certain))
    starts = _line_starts(text)
    matches = []
    for start, end, kind, certain in sorted(chosen):
        line = first_line + sum(1 for s in starts[1:] if s <= start)
        matches.append(IdentifierMatch(kind, line, start, end, mask(text[start:end], kind), certain))
    return matches


def resolve_key_path(identity_key: Path, root: Path) -> Path:
    """The identity key's path: ``~`` expanded, relative paths taken from the study folder."""
    path = identity_key.expanduser()
    return path if path.is_absolute() else (root / path)


def _key_text(path: Path) -> str:
    """The key's text, read only from a regular file of at most ``MAX_KEY_BYTES``."""
    status = path.stat()
    fix = "Point governance.identity_key at the key's CSV file."
    if not stat.S_ISREG(status.st_mode):
        msg = "identity key is not a regular file (it is a device, a pipe or a folder)"
        raise QualitativeDataError(msg, path=path, fix=fix)
    if status.st_size > MAX_KEY_BYTES:
        msg = f"identity key is {status.st_size:,} bytes, more than the {MAX_KEY_BYTES:,} a key may have"
        raise QualitativeDataError(msg, path=path, fix=fix)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        text = handle.read(MAX_KEY_BYTES + 1)
    if len(text) > MAX_KEY_BYTES:
        msg = f"identity key grew past {MAX_KEY_BYTES:,} characters while it was read"
        raise QualitativeDataError(msg, path=path, fix=fix)
    return text


def read_identity_key(path: Path) -> Mapping[str, str]:
    """Read the identity key (CSV ``participant_id,name``) as {participant id: name}.

    Only a regular file of at most ``MAX_KEY_BYTES`` is read: a device (``/dev/zero``),
    a pipe or a huge file is refused at once with a sentence.
    """
    fix = "It must be a UTF-8 CSV with the header row participant_id,name."
    try:
        reader = csv.DictReader(io.StringIO(_key_text(path), newline=""))
        rows = list(reader)
        header = reader.fieldnames or []
    except FileNotFoundError as exc:
        msg = "identity key not found"
        raise QualitativeDataError(msg, path=path, fix="Check governance.identity_key in study.yml.") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        msg = f"identity key cannot be read ({exc})"
        raise QualitativeDataError(msg, path=path, fix=fix) from exc
    if not {"participant_id", "name"} <= set(header):
        msg = "identity key lacks the columns participant_id and name"
        raise QualitativeDataError(msg, path=path, fix=fix)
    key: dict[str, str] = {}
    for row in rows:
        name = (row["name"] or "").strip()
        if name:
            key[(row["participant_id"] or "").strip()] = name
    return key
