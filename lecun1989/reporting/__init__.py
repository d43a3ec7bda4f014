"""Reporting: the README's results table and its reading, the paired comparisons' statistics, the runs
they need, the independent-runs check and the reproduction check (make verify)."""
