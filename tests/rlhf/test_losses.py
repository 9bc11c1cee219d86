import math

import pytest
import torch
import torch.nn.functional as F

from llmlab.rlhf.losses import (
    bradley_terry_loss,
    dpo_loss,
    entropy,
    group_advantages,
    kl_penalty,
    ppo_policy_loss,
    ppo_value_loss,
)

ONE = torch.ones(1, 1, dtype=torch.bool)


def _policy_loss(ratio: float, advantage: float, eps: float = 0.2):
    logp = torch.tensor([[math.log(ratio)]], requires_grad=True)
    loss, stats = ppo_policy_loss(
        logp, torch.zeros(1, 1), torch.tensor([[advantage]]), ONE, clip_eps=eps
    )
    loss.backward()
    return loss.item(), logp.grad.item(), stats


@pytest.mark.parametrize(
    "ratio, advantage, want_loss, clipped",
    [
        (1.5, 1.0, -1.2, True),  # above 1 + ε with A > 0: capped, no gradient
        (1.1, 1.0, -1.1, False),  # inside the clip range: plain −Aρ
        (0.5, 1.0, -0.5, False),  # below 1 − ε with A > 0: unclipped, pushed up
        (0.5, -1.0, 0.8, True),  # below 1 − ε with A < 0: capped, no gradient
        (1.5, -1.0, 1.5, False),  # above 1 + ε with A < 0: unclipped, pushed down
    ],
)
def test_ppo_policy_loss_on_both_sides_of_the_clip(
    ratio, advantage, want_loss, clipped
) -> None:
    loss, grad, stats = _policy_loss(ratio, advantage)
    assert loss == pytest.approx(want_loss, rel=1e-6)
    assert stats["clip_fraction"] == (1.0 if clipped else 0.0)
    # d(−Aρ)/d log ρ = −Aρ when unclipped; 0 when the clipped branch wins
    assert grad == pytest.approx(0.0 if clipped else -advantage * ratio, abs=1e-6)


def test_ppo_policy_loss_averages_over_response_tokens_only() -> None:
    logp = torch.log(torch.tensor([[1.0, 1.1, 5.0]]))
    adv = torch.tensor([[2.0, 1.0, 100.0]])
    mask = torch.tensor([[True, True, False]])
    loss, _ = ppo_policy_loss(logp, torch.zeros(1, 3), adv, mask, clip_eps=0.2)
    assert loss.item() == pytest.approx(-(2.0 + 1.1) / 2)


def test_ppo_value_loss_clipped_and_unclipped() -> None:
    v, old, ret = torch.tensor([[1.0]]), torch.tensor([[0.0]]), torch.tensor([[1.0]])
    assert ppo_value_loss(v, old, ret, ONE, clip_eps=None).item() == 0.0
    # clipped prediction 0 + 0.2 → error 0.8² = 0.64, halved
    assert ppo_value_loss(v, old, ret, ONE, clip_eps=0.2).item() == pytest.approx(0.32)
    # the larger error counts: moving away from the target is never clipped away
    v2 = torch.tensor([[-1.0]])
    assert ppo_value_loss(v2, old, ret, ONE, clip_eps=0.2).item() == pytest.approx(2.0)


def test_kl_estimators_by_hand() -> None:
    d = torch.tensor([math.log(2.0), 0.0, -math.log(2.0)])
    zero = torch.zeros(3)
    assert kl_penalty(d, zero, kind="k1").tolist() == pytest.approx(d.tolist())
    k2 = [0.5 * math.log(2) ** 2, 0.0, 0.5 * math.log(2) ** 2]
    assert kl_penalty(d, zero, kind="k2").tolist() == pytest.approx(k2)
    # k3 = (r − 1) − log r with r = π_ref/π = exp(−d)
    k3 = [0.5 - 1 + math.log(2), 0.0, 2 - 1 - math.log(2)]
    assert kl_penalty(d, zero, kind="k3").tolist() == pytest.approx(k3)
    with pytest.raises(ValueError, match="k4"):
        kl_penalty(d, zero, kind="k4")


def test_k1_and_k3_are_unbiased_estimates_of_the_exact_kl() -> None:
    g = torch.Generator().manual_seed(0)
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.2, 0.3, 0.5])
    exact = (p * (p / q).log()).sum().item()
    x = torch.multinomial(p, 200_000, replacement=True, generator=g)
    logp, logq = p.log()[x], q.log()[x]
    for kind in ("k1", "k3"):
        est = kl_penalty(logp, logq, kind=kind).mean().item()
        assert est == pytest.approx(exact, abs=0.01), kind
    assert (kl_penalty(logp, logq, kind="k3") >= 0).all()


def test_entropy_matches_hand_values() -> None:
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0]])
    assert entropy(logits).tolist() == pytest.approx([math.log(4), 0.0], abs=1e-6)


def test_bradley_terry_by_hand() -> None:
    loss, acc = bradley_terry_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
    want = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(2))) / 2
    assert loss.item() == pytest.approx(want)
    assert acc.item() == 0.5
    with pytest.raises(ValueError, match="same shape"):
        bradley_terry_loss(torch.zeros(2), torch.zeros(3))


def test_dpo_loss_by_hand_and_gradient_direction() -> None:
    chosen = torch.tensor([-4.0], requires_grad=True)
    rejected = torch.tensor([-6.0], requires_grad=True)
    loss, stats = dpo_loss(
        chosen, rejected, torch.tensor([-5.0]), torch.tensor([-6.0]), beta=0.5
    )
    # implicit rewards 0.5·(−4 + 5) = 0.5 and 0.5·0 = 0 → −log σ(0.5)
    assert loss.item() == pytest.approx(-F.logsigmoid(torch.tensor(0.5)).item())
    assert stats["reward_margin"] == pytest.approx(0.5)
    loss.backward()
    assert chosen.grad.item() < 0 < rejected.grad.item()  # raise chosen, lower rejected
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(chosen, rejected, chosen, rejected, beta=0.0)


def test_group_advantages_by_hand() -> None:
    got = group_advantages(torch.tensor([1.0, 3.0, 5.0, 5.0]), group_size=2)
    s = 1 / math.sqrt(2)
    assert got.tolist() == pytest.approx([-s, s, 0.0, 0.0], abs=1e-5)
    centred = group_advantages(
        torch.tensor([1.0, 2.0, 6.0, 0.0, 0.0, 3.0]), group_size=3, scale=False
    )
    assert centred.tolist() == pytest.approx([-2.0, -1.0, 3.0, -1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="group_size=4"):
        group_advantages(torch.zeros(6), group_size=4)
