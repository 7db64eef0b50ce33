"""Curating new tasks: mining fix commits from a repository's history, synthetic bugs."""
