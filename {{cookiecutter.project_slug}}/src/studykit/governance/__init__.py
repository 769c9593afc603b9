"""Governance: consent, withdrawal and ethics registers, the one consent rule, governed edits, audit log.

``in_force`` (in ``coverage``) decides whether consent covered a row; validation, the
consent filter and the edits all ask it. Edits are locked and written with their audit
entry as one unit (``journal``).
"""

from studykit.governance.consent_filter import ConsentFilter, Exclusion
from studykit.governance.coverage import Coverage, in_force, in_force_on
from studykit.governance.edits import Edit, add_consent, withdraw
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
    "Coverage",
    "Edit",
    "Ethics",
    "Exclusion",
    "Registers",
    "Withdrawal",
    "add_consent",
    "consent_status",
    "ethics_status",
    "in_force",
    "in_force_on",
    "load_registers",
    "withdraw",
]
