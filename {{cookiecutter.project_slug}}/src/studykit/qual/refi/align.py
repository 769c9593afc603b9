"""Offsets: placing a REFI-QDA selection in the study's LF-normalised transcript body.

The standard's positions are Unicode code points from 0; vendors differ on
whether CRLF counts as one character or two, whether the end is inclusive, and
(NVivo) whether characters beyond U+FFFF count twice. Each source's text is
indexed once (``SourceText``), so placing every selection costs time in
proportion to the selection, not to the whole text.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from studykit.qual.refi.model import RefiSource

_SLACK = 256  # characters of a selection read beyond its name's length when checking it against its text


def to_lf(text: str) -> str:
    """Text with CRLF and CR as LF (transcript bodies use LF)."""
    return re.sub(r"\r\n?", "\n", text)


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _hint(name: str | None) -> str:
    """A selection's name as a hint of its text: NVivo, QualCoder, ATLAS.ti write (the start of) the text."""
    if not name:
        return ""
    return _squash(name.rstrip().removesuffix("...").removesuffix("…"))


def _pattern(hint: str) -> re.Pattern[str]:
    return re.compile(r"\s+".join(re.escape(w) for w in hint.split()), re.IGNORECASE)


@dataclass(frozen=True)
class _Aligned:
    start: int
    end: int
    how: str  # "" when the offsets were taken as written


class SourceText:
    """A source's text indexed once: its LF form, where its CRLF pairs, CRs and LFs are."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.text = to_lf(original)
        self._pairs = [m.start() for m in re.finditer("\r\n", original)]
        self._crs = [m.start() for m in re.finditer("\r", original)]
        self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        self._squashed: str | None = None

    def lf(self, offset: int) -> int:
        """An offset of the original text as an offset of the LF text (a CRLF pair is one character)."""
        return offset - bisect_left(self._pairs, offset)

    def _contains(self, hint: str) -> bool:
        if self._squashed is None:
            self._squashed = _squash(self.text)
        return hint in self._squashed

    def _selected(self, start: int, end: int, hint: str) -> tuple[str, bool]:
        """The squashed text of a span, read at most a little beyond the hint's length; and if it is whole."""
        stop = min(end, start + 4 * len(hint) + _SLACK)
        return _squash(self.text[start:stop]), stop == end

    def align(self, start: int, end: int, name: str | None) -> _Aligned | str:
        """Offsets of a selection in the LF text, or a sentence saying why it cannot be placed.

        When the selection's name holds its text, every reading is checked against it
        and a drifted selection is moved to where its text is (near the given
        offsets); a selection whose text is elsewhere is refused rather than silently
        shifted.
        """
        original, text = self.original, self.text
        if start < 0 or end < start:
            return f"positions {start}..{end} are reversed or negative"
        readings: list[tuple[int, int, str]] = []
        if end <= len(original):
            readings.append((self.lf(start), self.lf(end), ""))
        if end <= len(text) and self._crs:
            readings.append((start, end, "offsets counted CRLF as one character"))
        if end + 1 <= len(original):
            readings.append((self.lf(start), self.lf(end + 1), "end position read as inclusive"))
        if end + 1 <= len(text) and self._crs:
            readings.append((start, end + 1, "offsets counted CRLF as one character, end inclusive"))
        hint = _hint(name)
        if hint:
            for s, e, how in readings:
                selected, whole = self._selected(s, e, hint)
                if whole and selected == hint:
                    return _Aligned(s, e, how)
            for s, e, how in readings:
                if "inclusive" in how:
                    continue
                selected, whole = self._selected(s, e, hint)
                # A truncated name, or a label longer than the selection that starts the same way.
                if selected and (selected.startswith(hint) or (whole and hint.startswith(selected))):
                    return _Aligned(s, e, how)
            placed = self._near(start, end, hint)
            if placed is not None:
                return placed
            if self._contains(hint):
                return (
                    f"its text {name!r} is not at positions {start}..{end} nor near them "
                    f"(nearest at {self._nearest(start, hint)}); not imported rather than shifted"
                )
            # The name is not in the text at all: a label, not the selected text. Trust the offsets.
        if readings:
            return _Aligned(*readings[0])
        return f"positions {start}..{end} lie outside the source ({len(original)} characters)"

    def _expected(self, start: int) -> tuple[int, int]:
        """Where a selection starting at ``start`` should be in the LF text, and how far drift may move it."""
        clipped = min(start, len(self.original))
        expected = self.lf(clipped)
        window = bisect_left(self._newlines, expected) + bisect_left(self._crs, clipped) + 2
        return expected, window

    def _near(self, start: int, end: int, hint: str) -> _Aligned | None:
        """The selection moved to its text within the drift window around its offsets, if found there."""
        expected, window = self._expected(start)
        low = max(0, expected - window)
        high = min(len(self.text), expected + window + 4 * len(hint) + _SLACK)
        matches = list(_pattern(hint).finditer(self.text, low, high))
        matches = [m for m in matches if abs(m.start() - expected) <= window]
        if not matches:
            return None
        best = min(matches, key=lambda m: abs(m.start() - expected))
        length = end - start
        new_end = best.end() if abs((best.end() - best.start()) - length) <= window else best.start() + length
        shift = best.start() - expected
        how = f"re-aligned by {shift:+d} against its text"
        return _Aligned(best.start(), min(new_end, len(self.text)), how)

    def _nearest(self, start: int, hint: str) -> int | str:
        """Where the text nearest the offsets is (only asked for a selection about to be refused)."""
        expected, _ = self._expected(start)
        found = [m.start() for m in _pattern(hint).finditer(self.text)]
        return min(found, key=lambda p: abs(p - expected)) if found else "?"


def align_selection(original: str, start: int, end: int, name: str | None) -> _Aligned | str:
    """One selection placed in ``original`` (see ``SourceText.align``; index the text once for many)."""
    return SourceText(original).align(start, end, name)


def utf16_positions(text: str) -> Callable[[int], int]:
    """Map a UTF-16 code-unit offset to a code-point offset of ``text``.

    NVivo counts positions in UTF-16 code units, so each character beyond U+FFFF
    (emoji, common in social-media text) counts twice. Offsets past the end stay
    past the end, so they are reported rather than clipped.
    """
    table: list[int] = []
    for index, character in enumerate(text):
        table.append(index)
        if ord(character) > 0xFFFF:
            table.append(index)  # the second unit of a surrogate pair: same character
    table.append(len(text))
    return lambda unit: table[unit] if 0 <= unit < len(table) else len(text) + unit - len(table) + 1


def _on_word_boundaries(text: str, spans: Iterable[tuple[int, int]]) -> int:
    """How many spans start and end between words: the evidence for one way of counting positions."""
    count = 0
    for start, end in spans:
        if 0 <= start < end <= len(text):
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            count += not before.isalnum() and not after.isalnum()
    return count


def counts_utf16(source: RefiSource, origin: str | None) -> bool:
    """True when a source's positions are best read as UTF-16 code units (NVivo), not code points.

    It only matters when the text has characters beyond U+FFFF. NVivo is known to
    count that way; for other tools, the reading that puts more selections on word
    boundaries wins.
    """
    if not source.text or not any(ord(c) > 0xFFFF for c in source.text):
        return False
    if origin and "nvivo" in origin.lower():
        return True
    spans = [(s.start, s.end) for s in source.selections]
    to_points = utf16_positions(source.text)
    as_units = [(to_points(a), to_points(b)) for a, b in spans]
    return _on_word_boundaries(source.text, as_units) > _on_word_boundaries(source.text, spans)

