"""Rollouts: many episodes in parallel, stored in SQLite, resumable, exportable."""
