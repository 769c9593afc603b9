"""REFI-QDA adapter: import and export QDPX projects and QDC codebooks.

One module per step: ``model`` (what a project holds), ``reader`` (archives and XML,
with size limits), ``align`` (placing selections in the text), ``importer`` (project
-> study files) and ``exporter`` (study files -> project). The summary, ids and the
write-and-commit step are shared with other adapters in ``studykit.qual.exchange``.
"""

from studykit.qual.refi.align import SourceText, align_selection, counts_utf16, utf16_positions
from studykit.qual.refi.exporter import (
    ZIP_TIME,
    build_codebook_xml,
    build_qdpx,
    export_qdc,
    export_qdpx,
    schema_errors,
)
from studykit.qual.refi.importer import import_qdc, import_qdpx, plan_project_import
from studykit.qual.refi.model import CODEBOOK_NS, GUID, PROJECT_NS, RefiProject
from studykit.qual.refi.reader import (
    MAX_ENTRY_BYTES,
    MAX_RATIO,
    MAX_XML_BYTES,
    read_qdc,
    read_qdpx,
)

__all__ = [
    "CODEBOOK_NS",
    "GUID",
    "MAX_ENTRY_BYTES",
    "MAX_RATIO",
    "MAX_XML_BYTES",
    "PROJECT_NS",
    "ZIP_TIME",
    "RefiProject",
    "SourceText",
    "align_selection",
    "build_codebook_xml",
    "build_qdpx",
    "counts_utf16",
    "export_qdc",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
    "plan_project_import",
    "read_qdc",
    "read_qdpx",
    "schema_errors",
    "utf16_positions",
]
