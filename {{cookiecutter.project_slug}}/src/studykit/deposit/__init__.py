"""Deposits: tiered archive packages a repository accepts, and a check for any deposit received.

``build_deposit`` (``studykit deposit``) writes ``deposit/<slug>-<version>-<tier>/``, a BagIt
bag of a Frictionless data package filtered by consent (``staging``; the bag in ``bag``,
the RO-Crate in ``crate``, the texts in ``citation``, tiers and targets in ``tiers``, labelled
SPSS and Stata files of the shipped tables in ``labelled``).
``check_deposit`` (``studykit check-deposit``) verifies any bag or data package (``check``).
"""

from studykit.deposit.check import check_deposit
from studykit.deposit.staging import Deposit, DepositRefused, build_deposit, plan_deposit
from studykit.deposit.tiers import TARGETS

__all__ = ["TARGETS", "Deposit", "DepositRefused", "build_deposit", "check_deposit", "plan_deposit"]
