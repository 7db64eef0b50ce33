"""The policy under training as a swegym `Model`: multi-turn episodes that keep their token ids.

`PolicyModel` answers the agent loop (:func:`swegym.agent.loop.run_episode`, text tool calls) by
generating from the conversation's token ids, so an episode is an ordinary swegym episode (same
prompts, tools, limits, grading and `EpisodeResult`) and also the token sequence GRPO learns from:
``prompt_ids`` (system + issue), then ``completion_ids`` with ``env_mask`` 1 on the tokens the model
sampled and 0 on the tokens the environment added (tool results, chat-template glue).

Generation is a `Generator`: `HFGenerator` (transformers ``generate`` on the trainer's model, the
CPU path) or `VLLMGenerator` (TRL's vLLM client or colocated engine, the GPU path).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from swegym.agent.models.base import ModelResponse
from swegym.agent.textcalls import parse_text_tool_calls
from swegym.errors import ModelError, TrainError
from swegym.train.deps import require


class Generator(Protocol):
    """Samples one assistant turn from token ids: (new token ids, their log-probs or None)."""

    def __call__(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], list[float] | None]: ...


class HFGenerator:
    """Sampling with transformers' ``generate`` on the model being trained (no gradients)."""

    def __init__(self, model: Any, tokenizer: Any, temperature: float, top_p: float = 1.0) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], list[float] | None]:
        torch = require("torch")
        device = next(self.model.parameters()).device
        input_ids = torch.tensor([ids], device=device)
        sample = self.temperature > 0
        kwargs: dict[str, Any] = {"do_sample": sample}
        if sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        with torch.no_grad():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                eos_token_id=self.tokenizer.eos_token_id,
                pad_token_id=self.tokenizer.pad_token_id,
                **kwargs,
            )
        # Log-probs are only needed for vLLM's importance-sampling correction; TRL recomputes the
        # policy's own under the current weights.
        return [int(t) for t in out[0, len(ids) :]], None


class VLLMGenerator:
    """Sampling through the trainer's vLLM generation (``GRPOConfig(use_vllm=True)``, on a GPU)."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer

    def __call__(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], list[float] | None]:
        # vLLM caps each reply at the trainer's max_completion_length; the episode's own budget
        # (`PolicyModel.max_completion_tokens`) still ends it.
        _, completion_ids, logprobs, _ = self.trainer.vllm_generation.generate(
            prompts=[ids], images=None, num_generations=1
        )
        new = list(completion_ids[0])[:max_new_tokens]
        return new, [lp[0] for lp in logprobs[0]][: len(new)]


def render(tokenizer: Any, messages: list[dict[str, Any]], generation_prompt: bool) -> str:
    """The chat template's text for ``messages`` (content None as '')."""
    clean = [{"role": m["role"], "content": m.get("content") or ""} for m in messages]
    return str(tokenizer.apply_chat_template(clean, tokenize=False, add_generation_prompt=generation_prompt))


@dataclass
class Trajectory:
    """One episode's tokens in GRPO's shape."""

    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    """1 on sampled tokens (learnt), 0 on the environment's tokens."""
    logprobs: list[float] = field(default_factory=list)
    has_logprobs: bool = True

    def add(self, ids: list[int], sampled: bool, logprobs: list[float] | None = None) -> None:
        self.completion_ids += ids
        self.env_mask += [int(sampled)] * len(ids)
        if logprobs is None:
            self.has_logprobs = self.has_logprobs and not sampled
            logprobs = [0.0] * len(ids)
        self.logprobs += logprobs


class PolicyModel:
    """A `Model` that samples text tool calls from ``generator`` and records the token ids."""

    def __init__(
        self,
        generator: Generator,
        tokenizer: Any,
        *,
        max_new_tokens: int,
        max_completion_tokens: int,
        name: str = "policy",
    ) -> None:
        self.generator, self.tokenizer, self.name = generator, tokenizer, name
        self.max_new_tokens, self.max_completion_tokens = max_new_tokens, max_completion_tokens
        self.traj = Trajectory()
        self._last_content: str | None = None
        self._last_ended = False  # the last reply ended with the end-of-turn token

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelResponse:
        start = time.perf_counter()
        if self._last_content is None:
            self.traj.prompt_ids = self._encode(render(self.tokenizer, messages, True))
        else:
            self.traj.add(self._encode(self._bridge(messages)), sampled=False)
        room = self.max_completion_tokens - len(self.traj.completion_ids)
        if room <= 0:
            raise ModelError("the episode used its completion token budget", kind="context_overflow")
        ids, logprobs = self.generator(
            self.traj.prompt_ids + self.traj.completion_ids, min(room, self.max_new_tokens)
        )
        self.traj.add(ids, sampled=True, logprobs=logprobs)
        eos = self.tokenizer.eos_token_id
        self._last_ended = bool(ids) and ids[-1] == eos
        content = self.tokenizer.decode(ids, skip_special_tokens=True)
        self._last_content = content
        calls = parse_text_tool_calls(content)[:1]  # one tool per turn, as the system prompt says
        return ModelResponse(
            content=content,
            tool_calls=calls,
            prompt_tokens=len(self.traj.prompt_ids) + len(self.traj.completion_ids) - len(ids),
            completion_tokens=len(ids),
            seconds=time.perf_counter() - start,
            finish_reason="stop" if self._last_ended else "length",
        )

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _bridge(self, messages: list[dict[str, Any]]) -> str:
        """The text the template puts between the last sampled token and the next reply."""
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        before = render(self.tokenizer, messages[: last + 1], False)
        after = render(self.tokenizer, messages, True)
        if not after.startswith(before):
            raise TrainError("the chat template renders earlier turns differently once later ones follow")
        content = self._last_content or ""
        cut = before.rfind(content) + len(content) if content and content in before else len(before)
        tail = before[cut:]
        eos_text = self.tokenizer.eos_token or ""
        if self._last_ended and eos_text and tail.startswith(eos_text):
            tail = tail[len(eos_text) :]  # the sampled end-of-turn token is already in the ids
        return tail + after[len(before) :]
