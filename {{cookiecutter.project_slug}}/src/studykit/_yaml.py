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

import reprlib

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


def load_yaml(text: str) -> object:
    """Parse YAML text with the safe loader; refuse alias bombs and self-containing values."""
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
        expanded_size(data)
    except RecursionError as exc:
        msg = "values are nested too deeply"
        raise YAMLTooLargeError(msg) from exc
    return data


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
