"""The one exception tree. Imports nothing else from studykit.

An exception means a run could not happen (missing file, broken config); problems
found *in* the data are findings, not exceptions. Every error says what is wrong,
where, and how to fix it, and keeps the offending value.
"""

from __future__ import annotations

import os
from pathlib import Path


class StudykitError(Exception):
    """Base class: a sentence for the user, plus where and how to fix it."""

    exit_code = 2  # the command could not run

    def __init__(
        self, message: str, *, path: Path | str | None = None, key: str | None = None, fix: str | None = None
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        # The path as the user wrote it (``Path`` would drop a leading ``./`` or a trailing ``/``).
        self.shown_path = os.fspath(path) if path is not None else None
        self.key = key
        self.fix = fix
        super().__init__(self.sentence())

    def sentence(self) -> str:
        """Where, what, and how to fix it: ``path, key: message. Fix.`` (the path exactly as given)."""
        where = ""
        if self.shown_path is not None:
            where = self.shown_path
            if self.key:
                where += f", {self.key}"
            where += ": "
        text = f"{where}{self.message}"
        if not text.endswith((".", "!", "?")):
            text += "."
        return f"{text} {self.fix}" if self.fix else text


class StudyConfigError(StudykitError):
    """study.yml is missing or does not describe a valid study."""


class InstrumentDefinitionError(StudykitError):
    """An instrument definition (library or study) is invalid."""


class DataReadError(StudykitError):
    """A data file could not be read at all (missing, unreadable, not CSV)."""


class RegisterError(StudykitError):
    """A governance register is malformed, or an edit would break it.

    ``row`` (spreadsheet row, header = 1) and ``field`` (column or YAML key) locate
    the problem; they also make up the ``key`` shown in the sentence.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        row: int | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.row = row
        self.field = field
        where = ", ".join(part for part in (f"row {row}" if row else "", field or "") if part)
        super().__init__(message, path=path, key=where or None, fix=fix)


class QualitativeDataError(StudykitError):
    """A transcript, codebook or exchange file could not be read."""


class MissingToolError(StudykitError):
    """An optional tool or package is needed for this command."""


class DataErrorsFound(StudykitError):
    """A step that needs valid data refused because validation found errors (exit code 1, not 2).

    ``findings`` are the validation findings that stopped it.
    """

    exit_code = 1

    def __init__(
        self, message: str, *, findings: tuple = (), path: Path | str | None = None, fix: str | None = None
    ) -> None:
        self.findings = findings
        super().__init__(message, path=path, fix=fix)


class ExistingDataError(StudykitError):
    """Writing would overwrite or mix with data already in the study."""


class FileWriteError(StudykitError):
    """A file could not be written (disk full, read-only folder); nothing was half-written."""


class UnsafePathError(StudykitError):
    """A path to write is a link, a folder, a study-owned file, or leads outside where it should."""
