"""P(YES) of a verifier: a softmax over exactly the YES and NO continuations of the prompt.

Which token ids those are depends on the tokenizer *and* on how the prompt ends: ``"YES"`` and
``" YES"`` are different tokens in byte-level BPE vocabularies, and a word may even be split
(SmolLM2 has no ``YES`` token: ``Y`` + ``ES``). So the ids are found by tokenizing the prompt with
the answer appended and taking what the answer added, exactly as the training sequence has them.
With single-token answers the score is ``softmax(logit[yes], logit[no])[yes]`` at the last prompt
position; with multi-token answers each answer's log-probability is summed over its tokens.
"""

from __future__ import annotations

import math
from typing import Any

from swegym.errors import TrainError
from swegym.train.judge import LABELS


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The judge prompt through the chat template, ending where the answer starts."""
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def answer_text(tokenizer: Any, messages: list[dict[str, str]], answer: str) -> str:
    """What the chat template writes between the generation prompt and the end of ``answer``.

    Usually ``answer`` itself; ``" YES"`` for a template that puts a space after its role marker.
    """
    prompt = render_prompt(tokenizer, messages)
    full = str(
        tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": answer}], tokenize=False)
    )
    if not full.startswith(prompt) or answer not in full[len(prompt) :]:
        raise TrainError("the chat template does not write the answer right after the generation prompt")
    rest = full[len(prompt) :]
    return rest[: rest.index(answer) + len(answer)]


def answer_token_ids(
    tokenizer: Any, messages: list[dict[str, str]], answers: tuple[str, ...] = LABELS
) -> dict[str, list[int]]:
    """The token ids each answer adds after the rendered prompt, as the training sequence has them."""
    prompt = render_prompt(tokenizer, messages)
    base = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    out: dict[str, list[int]] = {}
    for ans in answers:
        text = prompt + answer_text(tokenizer, messages, ans)
        full = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if full[: len(base)] != base or len(full) == len(base):
            raise TrainError(f"the tokenizer merges the answer {ans!r} into the prompt's last token")
        out[ans] = full[len(base) :]
    if len({tuple(v) for v in out.values()}) != len(out):
        raise TrainError("the answers tokenize to the same ids")
    return out


def p_yes_from_logprobs(logp_yes: float, logp_no: float) -> float:
    """``exp(yes) / (exp(yes) + exp(no))``, computed stably."""
    top = max(logp_yes, logp_no)
    a, b = math.exp(logp_yes - top), math.exp(logp_no - top)
    return a / (a + b)


def answer_logprobs(model: Any, prompt_ids: list[int], answers: dict[str, list[int]]) -> dict[str, float]:
    """log P(answer | prompt) for each answer, summed over the answer's tokens."""
    torch = __import__("torch")
    device = next(model.parameters()).device
    with torch.no_grad():
        if all(len(ids) == 1 for ids in answers.values()):
            logits = model(torch.tensor([prompt_ids], device=device)).logits[0, -1].float()
            logp = torch.log_softmax(logits, dim=-1)
            return {a: float(logp[ids[0]]) for a, ids in answers.items()}
        out = {}
        for ans, ids in answers.items():
            seq = torch.tensor([prompt_ids + ids[:-1]], device=device)
            logp = torch.log_softmax(model(seq).logits[0].float(), dim=-1)
            start = len(prompt_ids) - 1
            out[ans] = float(sum(logp[start + j, t] for j, t in enumerate(ids)))
        return out


def p_yes(model: Any, tokenizer: Any, messages: list[dict[str, str]]) -> float:
    """The verifier's P(YES) for a judge prompt, in [0, 1]."""
    prompt = render_prompt(tokenizer, messages)
    answers = answer_token_ids(tokenizer, messages)
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    lp = answer_logprobs(model, prompt_ids, answers)
    return p_yes_from_logprobs(lp[LABELS[0]], lp[LABELS[1]])
