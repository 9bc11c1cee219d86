import copy

import torch

from llmlab.model import GPT
from llmlab.rlhf import response_logprobs, task
from llmlab.rlhf.reward_model import RewardModel, values_for_tokens
from llmlab.rlhf.rollout import (
    evaluate_policy,
    generate_responses,
    rollout,
    score,
    true_scores,
)


def test_rollout_records_what_a_fresh_forward_pass_computes() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG).eval()
    reference = GPT(task.MODEL_CONFIG).eval()
    value = RewardModel(task.MODEL_CONFIG).eval()
    prompts = task.sample_prompts(16, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(2)
    batch = rollout(policy, reference, prompts, generator=g, value_model=value)
    assert torch.equal(batch.ids[:, : task.PROMPT_LEN], prompts)
    assert torch.equal(
        task.render(prompts, batch.ids[:, task.PROMPT_LEN :])[1], batch.mask
    )
    after_end = ~batch.mask
    after_end[:, : task.PROMPT_LEN] = False
    assert (batch.ids[after_end] == task.PAD).all()
    with torch.no_grad():
        want, _ = response_logprobs(policy, batch.ids, batch.mask)
        ref, _ = response_logprobs(reference, batch.ids, batch.mask)
        values = values_for_tokens(value, batch.ids) * batch.mask
    assert torch.allclose(batch.logprobs, want, atol=1e-6)
    assert torch.allclose(batch.ref_logprobs, ref, atol=1e-6)
    assert torch.allclose(batch.values, values, atol=1e-6)
    assert not torch.allclose(batch.logprobs, batch.ref_logprobs)  # two models


def test_evaluate_policy_against_itself_has_zero_kl() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG).eval()
    rm = RewardModel(task.MODEL_CONFIG).eval()
    prompts = task.sample_prompts(32, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(2)
    stats = evaluate_policy(policy, copy.deepcopy(policy), rm, prompts, generator=g)
    assert abs(stats["kl"]) < 1e-5
    batch = rollout(policy, policy, prompts, generator=torch.Generator().manual_seed(2))
    assert stats["true_score"] == true_scores(batch).mean().item()
    assert stats["rm_score"] == score(rm, batch).mean().item()


def test_cached_and_plain_generation_give_the_same_responses() -> None:
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG).eval()
    prompts = task.sample_prompts(12, generator=torch.Generator().manual_seed(1))
    runs = [
        generate_responses(
            policy, prompts, generator=torch.Generator().manual_seed(2), use_cache=c
        )
        for c in (True, False)
    ]
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    lengths = runs[0][1].sum(1)
    assert lengths.min() >= 1 and lengths.max() <= task.RESPONSE_LEN
