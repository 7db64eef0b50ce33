"""Chat generation with transformers on the CPU: prefix KV-cache reuse and tool-call decoding.

One :class:`Engine` holds one model and one KV cache. Consecutive requests of an agent episode
share a long prefix (system prompt, tools, issue, earlier turns: ~3-4k tokens), so each request
only runs the model on the tokens after the longest common prefix with the previous one.
:meth:`Engine.tool_call` writes exactly one well-formed tool call by driving
:func:`~swegym.agent.models.toolgrammar.call_steps` (the engine is its
:class:`~swegym.agent.models.toolgrammar.Decoder`). Used by :mod:`swegym.agent.models.hf_server`.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any

from swegym.agent.models.hf_weights import import_hf
from swegym.agent.models.toolgrammar import call_steps, run_steps

# Tokens per forward pass when processing a prompt: one pass for a whole agent prompt, measured
# ~2.5x faster here than 256-token chunks through the cache; the bound keeps peak memory modest.
_PREFILL_CHUNK = 4096
_CLOSE_RESERVE = 12  # tokens kept back from free text so a call can always be closed


@dataclass
class Generation:
    """One completion and what it cost."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    prompt_processed: int
    """Prompt tokens run through the model (the rest came from the cached prefix)."""
    prompt_seconds: float
    gen_seconds: float
    timings: dict[str, float] = field(default_factory=dict)


class Engine:
    """A causal LM and one KV cache, used by one request at a time (the server holds a lock)."""

    def __init__(self, model: Any, tokenizer: Any, n_ctx: int) -> None:
        self.torch = import_hf("torch")
        self.model, self.tok, self.n_ctx = model, tokenizer, n_ctx
        self.cache_cls = import_hf("transformers").DynamicCache
        # transformers 5.2x renamed forward's `past_key_values` to `cache`; the cache object is
        # updated in place either way, so it is passed in and never read back from the output.
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._cache: Any = None
        self._ids: list[int] = []
        self._logits: Any = None
        eos = model.generation_config.eos_token_id
        self.eos = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
        self._digit_ids: list[int] | None = None
        self._rng = self.torch.Generator().manual_seed(0)
        self.temperature = 0.0
        self._budget = 0
        self._appended = 0

    # -- the KV cache --------------------------------------------------------------------------
    def _extend(self, ids: list[int]) -> None:
        for i in range(0, len(ids), _PREFILL_CHUNK):
            out = self._forward(ids[i : i + _PREFILL_CHUNK], last_only=True)
            self._logits = out.logits[0, -1].float()
        self._ids += ids
        self._appended += len(ids)

    def _forward(self, ids: list[int], last_only: bool = False) -> Any:
        # logits_to_keep=1 skips the vocabulary projection of every prompt token but the last.
        kwargs = {self._cache_arg: self._cache, "use_cache": True, "logits_to_keep": int(last_only)}
        return self.model(input_ids=self.torch.tensor([ids]), **kwargs)

    def _crop(self, length: int) -> None:
        if length < len(self._ids):
            # A negative count removes that many tokens, in every transformers version since 4.x
            # (a positive one means an absolute length in some and is refused by others).
            self._cache.crop(length - len(self._ids))
            self._ids = self._ids[:length]

    def prefill(self, ids: list[int]) -> int:
        """Make the cache hold ``ids``, reusing the common prefix; return the tokens processed."""
        common = 0
        for a, b in zip(self._ids, ids, strict=False):
            if a != b:
                break
            common += 1
        keep = min(common, len(ids) - 1)  # at least one token runs, for the next token's logits
        if self._cache is None or keep == 0:
            self._cache, self._ids, keep = self.cache_cls(config=self.model.config), [], 0
        self._crop(keep)
        self._extend(ids[keep:])
        return len(ids) - keep

    # -- sampling ------------------------------------------------------------------------------
    def _pick(self, scores: Any) -> int:
        torch = self.torch
        if self.temperature <= 0:
            return int(torch.argmax(scores))
        probs = torch.softmax(scores / self.temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=self._rng))

    def _encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    # -- Decoder: the steps of a tool call -----------------------------------------------------
    def force(self, text: str) -> str:
        """Append ``text`` without sampling."""
        self._extend(self._encode(text))
        return text

    def choose(self, options: tuple[str, ...]) -> str:
        """Score each option by its total log-probability here; take the best (or sample)."""
        if len(options) == 1:
            return self.force(options[0])
        torch, logits = self.torch, self._logits
        scores = []
        for option in options:
            ids = self._encode(option)
            total = float(torch.log_softmax(logits, -1)[ids[0]])
            if len(ids) > 1:
                logp = torch.log_softmax(self._forward(ids[:-1]).logits[0].float(), -1)
                total += float(logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())
                self._cache.crop(1 - len(ids))  # drop the option's tokens again
            scores.append(total)
        self._logits = logits
        return self.force(options[self._pick(torch.tensor(scores))])

    def _digits(self) -> list[int]:
        if self._digit_ids is None:
            vocab = self.tok.convert_ids_to_tokens(list(range(len(self.tok))))
            self._digit_ids = [i for i, t in enumerate(vocab) if t and t.isascii() and t.isdigit()]
        return self._digit_ids

    def digits(self, max_digits: int) -> str:
        """1..max_digits digits; stops where the model's own first choice is not a digit."""
        ids = self._digits()
        allowed, allowed_set = self.torch.tensor(ids), set(ids)
        written = ""
        while len(written) < max_digits:
            if written and int(self.torch.argmax(self._logits)) not in allowed_set:
                break
            token = int(allowed[self._pick(self._logits[allowed])])
            self._extend([token])
            written += self.tok.decode([token])
        return written

    def free_text(self, stop: str) -> str:
        """Sample until ``stop`` or end of text or the budget; the cache ends with the value."""
        base, generated, text = len(self._ids), [], ""
        while self._appended < self._budget - _CLOSE_RESERVE:
            token = self._pick(self._logits)
            if token in self.eos:
                break
            self._extend([token])
            generated.append(token)
            text = self.tok.decode(generated)
            if stop in text:
                break
        value = text.split(stop)[0]
        value = next((value[:-n] for n in range(len(stop), 0, -1) if value.endswith(stop[:n])), value)
        if value != text:  # written past the value: rewrite the cache with the value alone
            self._crop(base)
            self._appended -= len(generated)
            self.force(value)
        return value

    # -- requests ------------------------------------------------------------------------------
    def _start(self, messages: list[dict[str, Any]], max_tokens: int, temperature: float) -> tuple[int, int]:
        prompt = self.tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = self._encode(prompt)
        if len(ids) + max_tokens > self.n_ctx:
            raise ValueError(
                f"the prompt ({len(ids)} tokens) plus max_tokens ({max_tokens}) exceeds the "
                f"context length ({self.n_ctx} tokens)"
            )
        self.temperature, self._budget = temperature, max_tokens
        processed = self.prefill(ids)
        self._appended = 0
        return len(ids), processed

    def generate(
        self,
        messages: list[dict[str, Any]],
        max_tokens: int,
        temperature: float = 0.0,
        tools: list[dict[str, Any]] | None = None,
        seed: int | None = None,
    ) -> Generation:
        """The next assistant turn; with ``tools``, exactly one well-formed text tool call."""
        if seed is not None:
            self._rng.manual_seed(seed)
        with self.torch.inference_mode():
            t0 = time.perf_counter()
            n_prompt, processed = self._start(messages, max_tokens, temperature)
            t1 = time.perf_counter()
            if tools:
                text, reason = run_steps(call_steps(tools), self), "stop"
            else:
                text, reason = self._plain(max_tokens)
            t2 = time.perf_counter()
        gen = Generation(text, reason, n_prompt, self._appended, processed, t1 - t0, t2 - t1)
        gen.timings = {
            "prompt_n": processed,
            "prompt_ms": 1000 * gen.prompt_seconds,
            "prompt_per_second": processed / gen.prompt_seconds if gen.prompt_seconds else 0.0,
            "predicted_n": gen.completion_tokens,
            "predicted_ms": 1000 * gen.gen_seconds,
            "predicted_per_second": gen.completion_tokens / gen.gen_seconds if gen.gen_seconds else 0.0,
        }
        return gen

    def _plain(self, max_tokens: int) -> tuple[str, str]:
        generated: list[int] = []
        while len(generated) < max_tokens:
            token = self._pick(self._logits)
            if token in self.eos:
                return self.tok.decode(generated), "stop"
            self._extend([token])
            generated.append(token)
        return self.tok.decode(generated), "length"
