"""One exception hierarchy; the CLI catches ``SwegymError`` once and prints its message."""

from __future__ import annotations


class SwegymError(Exception):
    """Base class: the message is one line that says what went wrong and what to do."""


class TaskFormatError(SwegymError):
    """A task file or row is malformed."""


class UnknownSpecError(SwegymError):
    """No environment spec for a (repo, version)."""


class SourceError(SwegymError):
    """A repository could not be materialized at its base commit."""


class InterpreterNotFoundError(SwegymError):
    """The Python version an environment needs is not installed."""


class EnvBuildError(SwegymError):
    """Building an environment failed; carries the tail of the build log."""


class SandboxError(SwegymError):
    """The sandbox could not be started or broke down (an infrastructure error)."""


class SandboxUnavailableError(SandboxError):
    """No working bubblewrap binary."""


class PatchApplyError(SwegymError):
    """A patch does not apply to the repository."""


class PredictionFormatError(SwegymError):
    """A predictions file or row is malformed."""


class ModelError(SwegymError):
    """The model could not answer: server down, garbage replies, or context overflow."""

    def __init__(self, message: str, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind


class TrainError(SwegymError):
    """Training data, a training run, a verifier or a rerank could not be made."""


class MissingExtraError(TrainError):
    """An optional extra (torch, transformers, trl, peft) is not installed."""


class UnknownModelError(TrainError):
    """A model name is neither built in, nor a local directory, nor loadable by name."""


class OutOfMemoryError(TrainError):
    """Training or scoring ran out of (GPU or host) memory; the message says what to reduce."""
