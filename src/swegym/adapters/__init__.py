"""Adapters that let external RL frameworks drive swegym episodes (optional ``rl`` extra).

Each module imports its framework when it is imported, never from here: ``swegym.adapters.skyrl``
(SkyRL-Gym's ``BaseTextEnv``), ``swegym.adapters.verifiers`` (a verifiers multi-turn env) and
``swegym.adapters.trl`` (a ``rollout_func`` for TRL's ``GRPOTrainer``). They share
`swegym.adapters.episode.TextEpisode`: text actions parsed as tool calls, observations as chat
messages, the reward from the single grading path when the episode ends.
"""
