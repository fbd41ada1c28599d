"""Uncertainty of a stored run: bootstrap intervals, grade probabilities, tiers, weight
sensitivity (docs/uncertainty.md). `compute_uncertainty` computes and stores all of it."""

from evaluator.uncertainty.compute import UncertaintyError, UncertaintyResult, compute_uncertainty

__all__ = ["UncertaintyError", "UncertaintyResult", "compute_uncertainty"]
