"""The report's statistics, one step per module: descriptives, norms, change, flow, integration.

Every function takes plain values or consent-filtered frames and returns data
(dataclasses with ``to_dict``); ``studykit.results`` reads the study and writes the files.
"""

from studykit.analysis.change import Change, adjust, paired_change
from studykit.analysis.checklists import ChecklistItem, parse_checklists
from studykit.analysis.descriptives import Summary, sample_characteristics, summarise
from studykit.analysis.flow import Flow, participant_flow
from studykit.analysis.integration import Proposition, joint_display, parse_propositions
from studykit.analysis.norms import NormComparison, compare_with_norm, norm_for

__all__ = [
    "Change",
    "ChecklistItem",
    "Flow",
    "NormComparison",
    "Proposition",
    "Summary",
    "adjust",
    "compare_with_norm",
    "joint_display",
    "norm_for",
    "paired_change",
    "parse_checklists",
    "parse_propositions",
    "participant_flow",
    "sample_characteristics",
    "summarise",
]
