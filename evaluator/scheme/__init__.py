"""The scheme language: models, loading with file locations, whole-scheme checks."""

from evaluator.scheme.loader import LoadedScheme, SchemeInvalid, SchemeIssue, load_scheme
from evaluator.scheme.models import Evidence, Indicator, Scheme

__all__ = ["Evidence", "Indicator", "LoadedScheme", "Scheme", "SchemeInvalid", "SchemeIssue", "load_scheme"]
