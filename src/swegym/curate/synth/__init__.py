"""Synthesizing bugs that a project's own tests catch into tasks (``swegym curate synth``).

``pipeline.run_synth`` runs the stages, each in its own module: ``sources`` (the ``--source`` into
a ``config.SynthConfig``), ``baseline`` (the clean tree's tests with ``coverage``), ``candidates``
(``mutations`` of the covered ``functions``, built from ``statement_edits``,
``expression_edits``, ``rules`` and ``spans``), ``trials`` (which bugs the tests catch),
``statements`` (the symptom as a bug report) and ``tasks`` (a kept bug as a task, with ``diffs``).
"""
