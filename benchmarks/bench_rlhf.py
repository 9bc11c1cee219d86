"""Where the time of a PPO step goes, and what the KV cache buys rollouts.

1. One PPO step of ``llmlab.rlhf.ppo.train_ppo`` on the course task, split into its
   stages: rollout (sampling + log-probs + values), scoring (reward model) and update
   (``epochs`` passes of minibatch steps). Median over steps after a warm-up step.
2. Rollout throughput (generated tokens per second): ``llmlab.generate.generate``
   (KV cache) vs ``generate_plain`` (recomputes the prefix), same model, prompts and
   seed, interleaved, median of repeats: for the task's short answers and for longer
   generations, where recomputing the prefix dominates. No stop token, so every
   row generates every token.

Models are freshly initialised with the task's architecture (timing does not depend
on what they learned, only on answer length, which is fixed here by sampling every
slot of the answer).

Usage: python benchmarks/bench_rlhf.py [--repeats 5] [--threads 1]
On a machine whose cores are shared with other jobs, ``--threads 1`` gives steadier
numbers.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import time

import torch

from llmlab.generate import SamplingConfig, generate, generate_plain
from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf.ppo import PPOConfig, train_ppo
from llmlab.rlhf.reward_model import RewardModel


def ppo_step_split(repeats: int) -> dict[str, float]:
    """Median seconds per stage over ``repeats`` PPO steps (after one warm-up)."""
    torch.manual_seed(0)
    policy = GPT(task.MODEL_CONFIG)
    reference = copy.deepcopy(policy).eval()
    value, reward = RewardModel(task.MODEL_CONFIG), RewardModel(task.MODEL_CONFIG)
    config = PPOConfig(steps=repeats + 1)
    g = torch.Generator().manual_seed(1)
    history = train_ppo(policy, value, reference, reward, config, generator=g)[1:]
    stages = ("rollout_s", "score_s", "update_s")
    return {key: statistics.median(row[key] for row in history) for key in stages}


def rollout_throughput(
    config, *, batch: int, new_tokens: int, repeats: int
) -> dict[str, float]:
    """Generated tokens per second with and without the cache (interleaved)."""
    torch.manual_seed(0)
    model = GPT(config).eval()
    prompts = task.sample_prompts(batch, generator=torch.Generator().manual_seed(2))
    prompts = prompts.tolist()
    times = {True: [], False: []}
    for _ in range(repeats + 1):
        for use_cache in (True, False):
            run = generate if use_cache else generate_plain
            g = torch.Generator().manual_seed(3)
            started = time.perf_counter()
            run(model, prompts, max_new_tokens=new_tokens,
                sampling=SamplingConfig(temperature=1.0), generator=g)  # fmt: skip
            times[use_cache].append(time.perf_counter() - started)
    tokens = batch * new_tokens
    return {
        "cached": tokens / statistics.median(times[True][1:]),
        "uncached": tokens / statistics.median(times[False][1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.repeats < 3:
        parser.error(f"--repeats={args.repeats} must be >= 3 (medians of at least 3)")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    split = ppo_step_split(args.repeats)
    total = sum(split.values())
    print("PPO step (64 answers, 4 epochs of minibatches of 16), median seconds")
    print(f"{'stage':<10} {'seconds':>8} {'share':>7}")
    for key, seconds in split.items():
        print(f"{key[:-2]:<10} {seconds:8.3f} {seconds / total:7.1%}")
    print(f"{'total':<10} {total:8.3f}")
    print(
        f"share of the step spent generating answers: {split['rollout_s'] / total:.1%}"
    )

    long_config = dataclasses.replace(task.MODEL_CONFIG, context_length=256)
    cases = (
        ("task answers", task.MODEL_CONFIG, 64, task.RESPONSE_LEN),
        ("long answers", long_config, 16, 200),
    )
    print("\nRollout throughput, generated tokens/s (median)")
    print(f"{'case':<14} {'new tokens':>10} {'cached':>9} {'uncached':>9} {'ratio':>6}")
    for name, config, batch, new in cases:
        rates = rollout_throughput(
            config, batch=batch, new_tokens=new, repeats=args.repeats
        )
        ratio = rates["cached"] / rates["uncached"]
        print(
            f"{name:<14} {new:>10} {rates['cached']:9.0f} {rates['uncached']:9.0f} "
            f"{ratio:6.2f}"
        )


if __name__ == "__main__":
    main()
