"""The YAML loader every reader uses, bounded by what the text really holds.

libyaml's safe loader when PyYAML has it (much faster). YAML aliases (``*a``) let a few
hundred bytes stand for billions of values (the "billion laughs"): anything that walks
the result, validating or printing it, then runs out of memory. ``load_yaml`` counts the
values the document stands for, aliases expanded, and refuses more than ``MAX_VALUES``
or a value that contains itself, as a ``yaml.YAMLError`` whose ``problem`` is a
sentence, so every reader's existing handling of bad YAML reports it. ``shown`` is how
a message quotes a value: never more than a line.
"""

from __future__ import annotations

import codecs
import reprlib
from pathlib import Path

import yaml

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_VALUES = 100_000
"""Values a YAML document may stand for once aliases are expanded; a study's files hold a few thousand."""

_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring, _SHOWN.maxother = 2, 4, 4, 60, 60


class YAMLTooLargeError(yaml.YAMLError):
    """A document that expands (through aliases) to more values than studykit reads, or into itself."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.problem_mark = None
        super().__init__(problem)


class YAMLEncodingError(yaml.YAMLError):
    """A YAML file that is not UTF-8 (nor UTF-16/32 with a byte order mark)."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        self.problem = problem
        self.problem_mark = mark
        super().__init__(problem)


# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_yaml_text(path: Path) -> str:
    """A YAML file's text: UTF-8 (a BOM is dropped), or UTF-16/32 with a BOM (as Windows Notepad
    may save it), which the YAML standard allows. Other bytes are a ``YAMLEncodingError`` at
    the line of the first byte that does not read, never a crash."""
    raw = path.read_bytes()
    codec = next((c for bom, c in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start)
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1)
        problem = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be read, so the file was probably saved as "
            "Latin-1 or Windows-1252"
        )
        raise YAMLEncodingError(problem, yaml.Mark(str(path), exc.start, line, column, None, None)) from exc


def yaml_fix(exc: yaml.YAMLError) -> str:
    """What to do about a YAML file that did not load, for every reader's message."""
    if isinstance(exc, YAMLEncodingError):
        return "Save the file again as UTF-8 (in the editor's 'Save as' or 'Encoding' menu)."
    if isinstance(exc, YAMLTabError) or "tab character" in str(getattr(exc, "problem", "") or ""):
        return "Indent with spaces, not tabs: YAML does not allow a tab at the start of a line."
    return "Fix the syntax there."


def load_yaml(text: str) -> object:
    """Parse YAML text with the safe loader; refuse alias bombs and self-containing values.

    An error on a line indented with a tab says so (libyaml only says it "found character
    that cannot start any token").
    """
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
        expanded_size(data)
    except RecursionError as exc:
        msg = "values are nested too deeply"
        raise YAMLTooLargeError(msg) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and lines[mark.line][:1] in ("\t", " "):
            indent = lines[mark.line][: len(lines[mark.line]) - len(lines[mark.line].lstrip())]
            if "\t" in indent:
                raise YAMLTabError(mark) from exc
        raise
    return data


class YAMLTabError(yaml.YAMLError):
    """A line indented with a tab, which YAML does not allow."""

    def __init__(self, mark: yaml.Mark) -> None:
        self.problem = "a tab indents this line"
        self.problem_mark = mark
        super().__init__(self.problem)


def expanded_size(data: object) -> int:
    """How many values ``data`` stands for with every alias expanded; raises past ``MAX_VALUES``.

    Each distinct container is visited once (its size remembered), so this takes time in
    proportion to the text, not to the expansion.
    """
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(value: object) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in open_:
            msg = "a value contains itself through an alias"
            raise YAMLTooLargeError(msg)
        open_.add(key)
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_VALUES:
                msg = f"its aliases (*name) expand it to more than {MAX_VALUES:,} values"
                raise YAMLTooLargeError(msg)
        open_.discard(key)
        sizes[key] = total
        return total

    return size(data)


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, cut short (never the whole of a large value)."""
    return _SHOWN.repr(value)
