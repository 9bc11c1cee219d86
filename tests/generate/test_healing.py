import pytest
import torch

from llmlab.generate import (
    GREEDY,
    SamplingConfig,
    generate,
    healed_prompts,
    healing_mask,
)
from llmlab.generate.quality import python_samples
from llmlab.tokenizer import BPETokenizer
from tests.generate.conftest import tiny_model

CODE = "def foo(x):\n    return x + 1\n\n\ndef bar(y):\n    return foo(y)\n" * 40


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> BPETokenizer:
    path = tmp_path_factory.mktemp("healing") / "code.py"
    path.write_text(CODE)
    return BPETokenizer.train([str(path)], vocab_size=270, progress=False)


def test_the_mask_allows_exactly_the_tokens_that_extend_the_last_one(
    tokenizer,
) -> None:
    prompt = tokenizer.encode("def ")
    assert tokenizer.decode(prompt[-1:]) == " "  # the lone space token
    base, allowed = healing_mask(tokenizer, prompt)
    assert base == prompt[:-1]
    spelled = [tokenizer.decode_bytes([i]) for i in range(tokenizer.vocab_size)]
    assert allowed.tolist() == [b.startswith(b" ") for b in spelled]
    assert allowed[tokenizer.encode(" foo")[0]]  # " foo" may now follow "def"
    assert allowed[prompt[-1]]  # the removed token itself stays possible
    with pytest.raises(ValueError, match="at least one token"):
        healing_mask(tokenizer, [])


def test_greedy_healing_takes_the_best_allowed_token(tokenizer) -> None:
    model = tiny_model(vocab_size=tokenizer.vocab_size, context_length=32, scale=1.0)
    prompt = tokenizer.encode("def ")
    base, allowed = healing_mask(tokenizer, prompt)
    logits = model(torch.tensor([base]))[0, -1].detach()
    best = int(logits.masked_fill(~allowed, -torch.inf).argmax())
    assert int(logits.argmax()) != best  # here the unmasked favourite is excluded
    healed = healed_prompts(model, tokenizer, prompt, 3, sampling=GREEDY)
    assert healed == [base + [best]] * 3


def test_sampled_healing_stays_inside_the_mask(tokenizer) -> None:
    model = tiny_model(vocab_size=tokenizer.vocab_size, context_length=32, scale=1.0)
    prompt = tokenizer.encode("def ")
    _, allowed = healing_mask(tokenizer, prompt)
    healed = healed_prompts(
        model,
        tokenizer,
        prompt,
        200,
        sampling=SamplingConfig(temperature=2.0),
        generator=torch.Generator().manual_seed(0),
    )
    firsts = {h[-1] for h in healed}
    assert all(allowed[t] for t in firsts) and len(firsts) > 3


def test_samples_open_a_document_without_showing_it(tokenizer) -> None:
    model = tiny_model(vocab_size=tokenizer.vocab_size, context_length=64, scale=1.0)
    eot = tokenizer.eot_id
    got = python_samples(
        model,
        tokenizer,
        n=2,
        max_new_tokens=30,
        sampling=GREEDY,
        heal=False,
        document_start=eot,
    )
    prompt = [eot] + tokenizer.encode("def ")
    (new,) = generate(model, [prompt], max_new_tokens=30)
    text = tokenizer.decode(prompt[1:] + new)
    assert got == [text[: text.rfind("\n") + 1]] * 2
