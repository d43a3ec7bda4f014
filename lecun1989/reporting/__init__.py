"""Reporting: the README's results table and the reproduction check (make verify)."""
