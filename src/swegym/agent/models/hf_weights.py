"""The bundled GGUF models as transformers checkpoints: dequantized once, cached in safetensors.

Both the transformers model server (:mod:`swegym.agent.models.hf_server`) and training
(:mod:`swegym.train.models`) load the built-in models from here, so the GGUF is converted once, under
``<swegym cache>/hf-models/NAME``, and every later load is a plain ``from_pretrained`` of a directory.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from swegym.agent.models.catalog import LocalModelError, default_model_path
from swegym.config import sub_cache
from swegym.extras import import_extra

HF_INSTALL_HINT = "pip install 'swegym[local]'"


def import_hf(module: str) -> Any:
    """Import ``module`` (torch, transformers, gguf), or raise one line saying how to install it."""
    return import_extra(
        module, needed_by="the transformers backend", install=HF_INSTALL_HINT, error=LocalModelError
    )


def converted_model_dir(spec_name: str) -> Path:
    """The transformers checkpoint of the bundled GGUF model ``spec_name``, converting it once."""
    out = sub_cache("hf-models") / spec_name
    if (out / "config.json").exists():
        return out
    gguf = default_model_path(spec_name)
    transformers = import_hf("transformers")
    import_hf("gguf")  # transformers reads GGUF files through the gguf package
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec_name}-", dir=out.parent))
    try:
        # The GGUF loader draws its own tqdm bar on stderr, which transformers' progress switch
        # does not reach; a CLI command prints one line, so stderr is held while converting.
        with contextlib.redirect_stderr(io.StringIO()):
            _convert_into(transformers, gguf, tmp)
        # Another process may have converted it meanwhile: keep theirs (same content).
        os.replace(tmp, out) if not out.exists() else shutil.rmtree(tmp)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _convert_into(transformers: Any, gguf: Path, dest: Path) -> None:
    tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantized = transformers.AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # A model loaded from GGUF keeps a quantizer that refuses save_pretrained; its weights are
    # already dequantized, so a fresh model from the same config takes them as they are.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict())
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
