"""Harness: apply patches, run tests in the sandbox, parse results, grade, validate, evaluate."""
