from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
import torch.nn.functional as F

from llmlab.model import GPT, PRESETS

TINY = PRESETS["tiny"]


def _ids(B=2, T=16, seed=0):
    return torch.randint(
        0, TINY.vocab_size, (B, T), generator=torch.Generator().manual_seed(seed)
    )


def test_shapes_and_public_attributes() -> None:
    model = GPT(TINY)
    ids = _ids()
    assert model(ids).shape == (2, 16, TINY.vocab_size)
    assert model.embed(ids).shape == (2, 16, TINY.d_model)
    assert len(model.blocks) == TINY.n_layers
    for block in model.blocks:
        children = dict(block.named_children())
        assert {"norm1", "attention", "norm2", "ffn"} <= set(children)
    assert model.head.weight is model.token_embedding.weight  # tied by default


def test_embedding_is_one_hot_times_a_matrix() -> None:
    model = GPT(dataclasses.replace(TINY, position="none"))
    ids = _ids()
    one_hot = F.one_hot(ids, TINY.vocab_size).float()  # (B, T, V)
    assert torch.allclose(model.embed(ids), one_hot @ model.token_embedding.weight)


VARIANTS = list(
    itertools.product(
        ["none", "sinusoidal", "learned", "rope", "alibi"],
        ["reference", "sdpa", "flash"],
    )
)


@pytest.mark.parametrize("position, attention", VARIANTS)
def test_changing_a_future_token_never_changes_earlier_logits(position, attention):
    config = dataclasses.replace(
        TINY, position=position, attention=attention, flash_block_size=8
    )
    model = GPT(config).eval()
    ids = _ids(T=20)
    changed = ids.clone()
    changed[:, 12] = (changed[:, 12] + 1) % TINY.vocab_size
    before, after = model(ids), model(changed)
    assert torch.allclose(before[:, :12], after[:, :12], atol=1e-6)
    assert not torch.allclose(before[:, 12:], after[:, 12:], atol=1e-6)


@pytest.mark.parametrize(
    "changes",
    [
        dict(
            norm="rmsnorm", ffn="swiglu", n_kv_heads=2, bias=False, tie_embeddings=False
        ),
        dict(norm_placement="post", ffn="relu", position="sinusoidal"),
        dict(attention_window=4, attention_stride=3, attention="flash"),
        dict(dropout=0.1, position="alibi"),
    ],
)
def test_every_switch_backpropagates_the_true_gradient(changes) -> None:
    """Autograd's gradient equals a central finite difference, entry by entry."""
    config = dataclasses.replace(TINY, **changes)
    model = GPT(config, generator=torch.Generator().manual_seed(0)).double()
    ids = _ids(B=1, T=8)

    def loss() -> torch.Tensor:
        torch.manual_seed(0)  # the same dropout masks at every evaluation
        return F.cross_entropy(model(ids).flatten(0, 1), ids.flatten())

    loss().backward()
    pick = torch.Generator().manual_seed(1)
    named = list(model.named_parameters())
    for name, p in named:
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name} gets no signal"
    # Finite differences for a sample of parameters (every kind of layer, first and
    # last block), one entry each: two forward passes per entry.
    sample = [named[i] for i in range(0, len(named), 3)] + [named[-1]]
    for name, p in sample:
        for i in torch.randint(p.numel(), (1,), generator=pick).tolist():
            flat = p.data.view(-1)
            saved, eps = flat[i].item(), 1e-6
            with torch.no_grad():
                flat[i] = saved + eps
                up = loss().item()
                flat[i] = saved - eps
                down = loss().item()
                flat[i] = saved
            numeric = (up - down) / (2 * eps)
            assert abs(p.grad.view(-1)[i].item() - numeric) < 1e-6, (name, i)
    if config.dropout:
        model.train()
        torch.manual_seed(0)
        with torch.no_grad():
            assert not torch.allclose(model(ids), model.eval()(ids)), "no dropout"
    if not config.tie_embeddings:
        assert model.head.weight is not model.token_embedding.weight


def test_post_norm_has_no_final_norm() -> None:
    model = GPT(dataclasses.replace(TINY, norm_placement="post"))
    assert isinstance(model.final_norm, torch.nn.Identity)


def test_generator_makes_initialisation_reproducible() -> None:
    a = GPT(TINY, generator=torch.Generator().manual_seed(3))
    b = GPT(TINY, generator=torch.Generator().manual_seed(3))
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


def test_initial_loss_is_near_uniform_guessing() -> None:
    model = GPT(TINY, generator=torch.Generator().manual_seed(0))
    ids = _ids(B=4, T=64)
    # Next-token targets of random ids: nothing to predict, so ~ln(V) at the start.
    logits = model(ids[:, :-1])
    loss = F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
    assert abs(loss.item() - torch.log(torch.tensor(256.0)).item()) < 0.1


def test_bad_inputs_are_named() -> None:
    model = GPT(TINY)
    with pytest.raises(ValueError, match="learned positions only exist up to "):
        model(_ids(T=65))
    with pytest.raises(ValueError, match=r"ids must be \(B, T\) integers, got \(5,\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token id 256 is outside 0..255"):
        model(torch.full((1, 3), 256))
    with pytest.raises(ValueError, match=r"token id -1 is outside"):
        model(torch.full((1, 3), -1))
    with pytest.raises(ValueError, match=r"attention_mask must be \(B, T\)"):
        model(_ids(T=4), attention_mask=torch.ones(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="attention_mask must be bool"):
        model(_ids(T=4), attention_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"positions must be \(B, T\)"):
        model(_ids(T=4), positions=torch.arange(4))


@pytest.mark.parametrize("position", ["none", "sinusoidal", "rope", "alibi"])
def test_running_past_the_window_needs_an_explicit_yes(position) -> None:
    model = GPT(dataclasses.replace(TINY, position=position)).eval()
    ids = _ids(T=100)
    with pytest.raises(ValueError, match="100 tokens exceeds context_length=64"):
        model(ids)
    with torch.no_grad():
        logits = model(ids, extrapolate=True)
        inside = model(ids[:, :64])
    assert logits.shape == (2, 100, TINY.vocab_size)
    assert torch.isfinite(logits).all()
    assert torch.allclose(logits[:, :64], inside, atol=1e-5)  # causal: prefix same


def test_learned_positions_refuse_to_extrapolate_naming_both_lengths() -> None:
    model = GPT(TINY)
    with pytest.raises(ValueError, match=r"sequence of 70 .*context_length=64"):
        model(_ids(T=70), extrapolate=True)


@pytest.mark.parametrize("position", ["learned", "sinusoidal", "rope", "alibi"])
def test_meta_then_to_empty_then_init_equals_direct_construction(position) -> None:
    config = dataclasses.replace(TINY, position=position, norm="rmsnorm")
    direct = GPT(config, generator=torch.Generator().manual_seed(5))
    with torch.device("meta"):
        lazy = GPT(config)
    lazy.to_empty(device="cpu")
    with torch.no_grad():  # poison everything to_empty left, so init must set it
        for t in list(lazy.parameters()) + list(lazy.buffers()):
            t.fill_(float("nan"))
    lazy.init_weights(generator=torch.Generator().manual_seed(5))
    for (name, a), b in zip(direct.state_dict().items(), lazy.state_dict().values()):
        assert torch.equal(a, b), name
    for (name, a), b in zip(direct.named_buffers(), lazy.buffers()):
        assert torch.equal(a, b), name
    assert lazy.head.weight is lazy.token_embedding.weight  # still tied
    ids = _ids()
    logits = lazy(ids)
    assert torch.isfinite(logits).all()
    assert torch.equal(logits, direct(ids))


def _autocast_logits(device: torch.device, attention: str) -> tuple[torch.Tensor, ...]:
    config = dataclasses.replace(TINY, attention=attention, flash_block_size=16)
    model = GPT(config, generator=torch.Generator().manual_seed(0)).to(device)
    ids = _ids().to(device)
    full = model(ids)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        low = model(ids)
        low.float().sum().backward()
    return full, low


@pytest.mark.parametrize("attention", ["reference", "sdpa", "flash"])
def test_bfloat16_autocast_on_cpu(attention) -> None:
    full, low = _autocast_logits(torch.device("cpu"), attention)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), full, atol=0.05)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("attention", ["reference", "sdpa", "flash"])
def test_bfloat16_autocast_on_cuda(attention) -> None:
    full, low = _autocast_logits(torch.device("cuda"), attention)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.float(), full, atol=0.05)
