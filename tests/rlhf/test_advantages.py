import pytest
import torch

from llmlab.rlhf.advantages import gae, masked_mean, masked_var, masked_whiten

T_, F_ = True, False


def test_masked_mean_ignores_masked_entries() -> None:
    x = torch.tensor([[1.0, 2.0, 9.0], [4.0, 100.0, 100.0]])
    mask = torch.tensor([[T_, T_, F_], [T_, F_, F_]])
    assert masked_mean(x, mask).item() == pytest.approx((1 + 2 + 4) / 3)
    assert masked_mean(x, mask, dim=1).tolist() == pytest.approx([1.5, 4.0])


def test_masked_mean_rejects_empty_mask_and_bad_shapes() -> None:
    x = torch.ones(2, 3)
    with pytest.raises(ValueError, match="no entries"):
        masked_mean(x, torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="shape"):
        masked_mean(x, torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        masked_mean(x, torch.ones(2, 3))


def test_masked_var_and_whiten_match_torch_on_selected_entries() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 6, generator=g) * 3 + 2
    mask = torch.rand(4, 6, generator=g) > 0.4
    picked = x[mask]
    assert masked_var(x, mask).item() == pytest.approx(picked.var().item(), rel=1e-5)
    w = masked_whiten(x, mask)
    assert w[mask].mean().item() == pytest.approx(0.0, abs=1e-5)
    assert w[mask].std().item() == pytest.approx(1.0, rel=1e-4)
    assert (w[~mask] == 0).all()
    kept = masked_whiten(x, mask, shift_mean=False)
    assert kept[mask].mean().item() == pytest.approx(picked.mean().item(), rel=1e-4)


# One 3-step episode, γ = 0.9, λ = 0.8 (γλ = 0.72), worked by hand:
# r = [0, 0, 1], V = [.5, .4, .3]
# no bootstrap: δ = [.9·.4 − .5, .9·.3 − .4, 1 − .3] = [−.14, −.13, .7]
#   A2 = .7, A1 = −.13 + .72·.7 = .374, A0 = −.14 + .72·.374 = .12928
# bootstrap V_after = 2: δ2 = 1 + .9·2 − .3 = 2.5
#   A2 = 2.5, A1 = −.13 + .72·2.5 = 1.67, A0 = −.14 + .72·1.67 = 1.0624
REWARDS = torch.tensor([[0.0, 0.0, 1.0]])
VALUES = torch.tensor([[0.5, 0.4, 0.3]])
ALL = torch.ones(1, 3, dtype=torch.bool)


def test_gae_three_step_episode_without_bootstrap() -> None:
    adv, ret = gae(REWARDS, VALUES, ALL, gamma=0.9, lam=0.8)
    assert adv[0].tolist() == pytest.approx([0.12928, 0.374, 0.7])
    assert ret[0].tolist() == pytest.approx([0.62928, 0.774, 1.0])


def test_gae_three_step_episode_with_bootstrap() -> None:
    adv, ret = gae(
        REWARDS, VALUES, ALL, gamma=0.9, lam=0.8, next_value=torch.tensor([2.0])
    )
    assert adv[0].tolist() == pytest.approx([1.0624, 1.67, 2.5])
    assert ret[0].tolist() == pytest.approx([1.5624, 2.07, 2.8])


def test_gae_lambda_one_gives_monte_carlo_returns() -> None:
    _, ret = gae(REWARDS, VALUES, ALL, gamma=0.9, lam=1.0)
    assert ret[0].tolist() == pytest.approx([0.81, 0.9, 1.0])


def test_gae_skips_padding_on_either_side() -> None:
    padded_r = torch.tensor([[7.0, 0.0, 0.0, 1.0, 7.0]])
    padded_v = torch.tensor([[9.0, 0.5, 0.4, 0.3, 9.0]])
    mask = torch.tensor([[F_, T_, T_, T_, F_]])
    adv, ret = gae(padded_r, padded_v, mask, gamma=0.9, lam=0.8)
    assert adv[0, 1:4].tolist() == pytest.approx([0.12928, 0.374, 0.7])
    assert adv[0, 0] == 0 and adv[0, 4] == 0 and ret[0, 0] == 0


def _gae_loop(r, v, gamma, lam):
    """Textbook GAE for one unpadded episode, as a plain Python loop."""
    out, running = [], 0.0
    for t in reversed(range(len(r))):
        nxt = v[t + 1] if t + 1 < len(r) else 0.0
        running = r[t] + gamma * nxt - v[t] + gamma * lam * running
        out.append(running)
    return out[::-1]


def test_gae_matches_a_plain_loop_on_random_ragged_batches() -> None:
    g = torch.Generator().manual_seed(1)
    r, v = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    lengths = [7, 1, 4, 5, 2]
    mask = torch.arange(7)[None, :] < torch.tensor(lengths)[:, None]
    adv, _ = gae(r, v, mask, gamma=0.95, lam=0.9)
    for row, n in enumerate(lengths):
        want = _gae_loop(r[row, :n].tolist(), v[row, :n].tolist(), 0.95, 0.9)
        assert adv[row, :n].tolist() == pytest.approx(want, rel=1e-5, abs=1e-6)
