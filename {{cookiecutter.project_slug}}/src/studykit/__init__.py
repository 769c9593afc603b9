"""studykit: run, check and archive a reproducible mixed-methods study.

The package is copied verbatim into every study made from the studykit
template, so a deposited study carries the exact code behind its results.
"""

from studykit.errors import StudykitError
from studykit.study import Study, load_study

__version__ = "0.1.0"
__all__ = ["Study", "StudykitError", "__version__", "load_study"]
