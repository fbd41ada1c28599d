"""The scoring engine: scheme + stored data → a stored, explainable, reproducible run.

One module per step, in pipeline order: values (roll-up, surveys, imputation, transforms),
rules (0–100 indicator scores), aggregate (weighted tree, contributions), adjust (bonus,
deduction, vetoes), grades (grades, quotas, ranks), run (the stored run). All data work is
sqlglot expression trees executed through `engine.Engine` (see docs/scoring.md).
"""

from evaluator.scoring.errors import ScoringError
from evaluator.scoring.run import score_run

__all__ = ["ScoringError", "score_run"]
