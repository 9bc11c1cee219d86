import copy

import pytest
import torch

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.dpo import DPOConfig, dpo_batch_loss, sequence_logprobs, train_dpo
from llmlab.rlhf.losses import dpo_loss


def _pairs(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    prompts = task.sample_prompts(n, generator=g)
    a = task.sample_demonstrations(prompts, generator=g)
    b = task.sample_demonstrations(prompts, generator=g)
    p, chosen, rejected = task.label_pairs(prompts, a, b)
    return (*task.render(p, chosen), *task.render(p, rejected))


def _implicit_accuracy(policy, reference, pairs) -> float:
    with torch.no_grad():
        c = sequence_logprobs(policy, pairs[0], pairs[1])
        r = sequence_logprobs(policy, pairs[2], pairs[3])
        rc = sequence_logprobs(reference, pairs[0], pairs[1])
        rr = sequence_logprobs(reference, pairs[2], pairs[3])
    return ((c - rc) > (r - rr)).float().mean().item()


def test_dpo_batch_loss_is_dpo_loss_of_sequence_logprobs() -> None:
    torch.manual_seed(0)
    policy, reference = GPT(task.MODEL_CONFIG).eval(), GPT(task.MODEL_CONFIG).eval()
    ci, cm, ri, rm = _pairs(20, seed=0)
    with torch.no_grad():
        ref_c, ref_r = (
            sequence_logprobs(reference, ci, cm),
            sequence_logprobs(reference, ri, rm),
        )
        got, _ = dpo_batch_loss(policy, (ci, cm, ri, rm, ref_c, ref_r), beta=0.3)
        c, r = sequence_logprobs(policy, ci, cm), sequence_logprobs(policy, ri, rm)
        want, _ = dpo_loss(c, r, ref_c, ref_r, beta=0.3)
        # sequence log-prob = sum of per-token log-probs over the response
        logits = policy(ci[:1])[0]
        by_hand = sum(
            torch.log_softmax(logits[t - 1], -1)[ci[0, t]]
            for t in range(1, ci.shape[1])
            if cm[0, t]
        )
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    assert c[0].item() == pytest.approx(by_hand.item(), rel=1e-5)


def test_short_dpo_run_ranks_held_out_pairs_by_implicit_reward() -> None:
    torch.manual_seed(0)
    reference = GPT(task.MODEL_CONFIG).eval()
    policy = copy.deepcopy(reference)
    train, held_out = _pairs(1500, seed=1), _pairs(300, seed=2)
    config = DPOConfig(steps=20, batch_size=32, lr=3e-3, beta=0.1)
    history = train_dpo(
        policy, reference, train, config, generator=torch.Generator().manual_seed(3)
    )
    assert history[0]["loss"] == pytest.approx(0.6931, abs=1e-3)  # policy = reference
    assert _implicit_accuracy(policy.eval(), reference, held_out) > 0.75
