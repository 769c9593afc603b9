"""Governance: consent, withdrawal and ethics registers, governed edits, audit log, the consent filter."""

from studykit.governance.consent_filter import ConsentFilter, Exclusion
from studykit.governance.edits import add_consent, withdraw
from studykit.governance.registers import (
    SCOPES,
    ConsentEvent,
    Ethics,
    Registers,
    Withdrawal,
    load_registers,
)
from studykit.governance.status import consent_status, ethics_status

__all__ = [
    "SCOPES",
    "ConsentEvent",
    "ConsentFilter",
    "Ethics",
    "Exclusion",
    "Registers",
    "Withdrawal",
    "add_consent",
    "consent_status",
    "ethics_status",
    "load_registers",
    "withdraw",
]
