"""What a REFI-QDA project holds (the part studykit reads), and the standard's names and limits.

REFI-QDA is the exchange standard of NVivo, ATLAS.ti, MAXQDA, QualCoder and
others. A ``.qdpx`` file is a ZIP holding ``project.qde`` (XML, namespace
``urn:QDA-XML:project:1.0``) and a flat ``sources/`` folder; a ``.qdc`` file is a
codebook alone (namespace ``urn:QDA-XML:codebook:1.0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from studykit.qual.exchange import ExchangeCode

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
SCHEMA_DIR = Path(__file__).parents[1] / "schemas"
GUID = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\})$"
)
REFI_FIX = "Export the project again from your QDA software (File > Export > REFI-QDA project)."

RefiCode = ExchangeCode
"""A code of a project or codebook: the exchange's neutral code."""


@dataclass
class RefiCoding:
    guid: str
    code: str
    user: str | None
    memos: list[str] = field(default_factory=list)


@dataclass
class RefiSelection:
    guid: str
    start: int
    end: int
    name: str | None
    user: str | None
    codings: list[RefiCoding] = field(default_factory=list)
    memos: list[str] = field(default_factory=list)


@dataclass
class RefiSource:
    guid: str
    name: str
    text: str | None
    created: str | None
    selections: list[RefiSelection] = field(default_factory=list)
    whole_codings: list[RefiCoding] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    variable_types: dict[str, str] = field(default_factory=dict)
    """Each variable's REFI type (``Text``, ``Boolean``, ``Integer``, ``Float``, ``Date``, ``DateTime``)."""


@dataclass
class RefiCase:
    guid: str
    name: str | None
    sources: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class RefiProject:
    """A parsed project: users, codes, text sources and cases, plus what was not carried."""

    name: str
    origin: str | None = None
    created: str | None = None
    users: dict[str, str] = field(default_factory=dict)
    codes: list[RefiCode] = field(default_factory=list)
    sources: list[RefiSource] = field(default_factory=list)
    cases: list[RefiCase] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

