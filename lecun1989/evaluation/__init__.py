"""Evaluation: scores, the evaluate stage's files, learning curves and figures."""
