"""Evaluation: a Plan compiled once per policy, evaluated per applicant, with a trace only when asked."""
