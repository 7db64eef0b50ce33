"""P(YES) reads exactly the YES/NO ids a tokenizer produces after the prompt, on two real tokenizers.

'YES' and ' YES' are different tokens in byte-level BPE; which one the verifier must read depends on
how the chat template ends the prompt. SWE-Gym's code read the wrong one.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from swegym.train.judge import LABELS
from swegym.train.scoring import answer_token_ids, p_yes, p_yes_from_logprobs

# The generation prompt ends with "Answer:" and the answer follows after a space, or after a newline.
SPACE_TEMPLATE = (
    "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
NEWLINE_TEMPLATE = (
    "{% for m in messages %}<{{ m.role }}>\n{{ m.content }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>\n{% endif %}"
)


def bpe_tokenizer(template: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["assistant: YES\n", "assistant: NO\n", "<assistant>\nYES</s>\n", "<assistant>\nNO</s>\n"] * 50
    corpus += ["user: Does the patch resolve the issue? YES or NO\n"] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="</s>")
    fast.chat_template = template
    return fast


PROMPT = [{"role": "user", "content": "Does the patch resolve the issue? YES or NO"}]


def test_bpe_tokenizer_yes_and_space_yes_are_distinct_and_picked_by_template() -> None:
    space = bpe_tokenizer(SPACE_TEMPLATE)
    yes, sp_yes = space.convert_tokens_to_ids("YES"), space.convert_tokens_to_ids("ĠYES")
    no, sp_no = space.convert_tokens_to_ids("NO"), space.convert_tokens_to_ids("ĠNO")
    assert len({yes, sp_yes, no, sp_no}) == 4 and None not in (yes, sp_yes, no, sp_no)
    assert answer_token_ids(space, PROMPT) == {"YES": [sp_yes], "NO": [sp_no]}
    newline = bpe_tokenizer(NEWLINE_TEMPLATE)
    assert newline.convert_tokens_to_ids("YES") == yes  # same training corpus, same vocabulary
    assert answer_token_ids(newline, PROMPT) == {"YES": [yes], "NO": [no]}


def tiny_llama(vocab: int) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
    )  # fmt: skip
    return LlamaForCausalLM(cfg).eval()


def test_p_yes_is_the_softmax_over_exactly_those_two_logits() -> None:
    import torch

    tok = bpe_tokenizer(SPACE_TEMPLATE)
    model = tiny_llama(len(tok))
    prompt = tok.apply_chat_template(PROMPT, tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1]
    sp_yes, sp_no = tok.convert_tokens_to_ids("ĠYES"), tok.convert_tokens_to_ids("ĠNO")
    expected = torch.softmax(logits[[sp_yes, sp_no]], dim=-1)[0].item()
    got = p_yes(model, tok, PROMPT)
    assert got == pytest.approx(expected, abs=1e-5)
    wrong = torch.softmax(logits[[tok.convert_tokens_to_ids("YES"), tok.convert_tokens_to_ids("NO")]], -1)[0]
    assert abs(wrong.item() - got) > 1e-4  # reading the no-space ids would give another score


def test_smollm2_tokenizer_answer_ids_follow_chatml() -> None:
    from swegym.train.models import load_tokenizer

    tok = load_tokenizer("local")
    assert (
        tok("YES", add_special_tokens=False)["input_ids"]
        != tok(" YES", add_special_tokens=False)["input_ids"]
    )
    ids = answer_token_ids(tok, PROMPT)
    # ChatML ends the prompt with "<|im_start|>assistant\n": the answer has no leading space.
    assert ids["YES"] == tok("YES", add_special_tokens=False)["input_ids"]
    assert ids["NO"] == tok("NO", add_special_tokens=False)["input_ids"]
    assert ids["YES"][0] != tok(" YES", add_special_tokens=False)["input_ids"][0]
    assert set(ids) == set(LABELS)


def test_p_yes_from_logprobs_is_stable() -> None:
    assert p_yes_from_logprobs(0.0, 0.0) == 0.5
    assert p_yes_from_logprobs(-1000.0, -2000.0) == pytest.approx(1.0)
    assert 0.0 <= p_yes_from_logprobs(-5000.0, 3.0) <= 1e-9
