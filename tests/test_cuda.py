"""The GPU path, checked wherever CUDA exists (skipped, and reported so, elsewhere).

``benchmarks/gpu_check.py`` runs these first on a GPU machine. On a CPU-only machine
every test here is reported as skipped with the reason.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from llmlab.model import GPT, PRESETS, KVCache

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CONFIG = dataclasses.replace(PRESETS["small"], vocab_size=512)
CUDA = torch.device("cuda")  # these tests check the CUDA path by name


def _ids(B: int = 4, T: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, CONFIG.vocab_size, (B, T), generator=g)


@pytest.mark.parametrize("attention", ["reference", "sdpa", "flash"])
def test_bf16_forward_and_backward_agree_with_fp32(attention) -> None:
    """bf16 autocast logits within 0.05 of fp32; gradients' cosine similarity > 0.99."""
    config = dataclasses.replace(CONFIG, attention=attention, flash_block_size=32)
    model = GPT(config, generator=torch.Generator().manual_seed(0)).to(CUDA)
    ids = _ids().to(CUDA)
    grads = []
    for dtype in (None, torch.bfloat16):
        model.zero_grad()
        with torch.autocast(CUDA.type, dtype=dtype, enabled=dtype is not None):
            logits = model(ids)
            F.cross_entropy(logits.flatten(0, 1).float(), ids.flatten()).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        if dtype is None:
            full = logits.detach()
    assert logits.dtype == torch.bfloat16
    assert (logits.float() - full).abs().max() < 0.05
    assert F.cosine_similarity(grads[0], grads[1], dim=0) > 0.99


@torch.no_grad()
def test_cached_generation_equals_plain_at_temperature_zero() -> None:
    model = GPT(CONFIG, generator=torch.Generator().manual_seed(1)).to(CUDA).eval()
    prompt = _ids(B=2, T=16).to(CUDA)
    plain = prompt
    for _ in range(32):
        plain = torch.cat([plain, model(plain)[:, -1:].argmax(-1)], dim=1)
    cache = KVCache(CONFIG, batch_size=2, max_len=48, device=CUDA)
    logits, cached = model(prompt, cache=cache), prompt
    for _ in range(32):
        nxt = logits[:, -1:].argmax(-1)
        cached = torch.cat([cached, nxt], dim=1)
        logits = model(nxt, cache=cache)
    assert torch.equal(plain, cached)


def test_a_short_training_run_lowers_the_loss() -> None:
    model = GPT(CONFIG, generator=torch.Generator().manual_seed(2)).to(CUDA)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, fused=True)
    ids = _ids(B=8, T=65).to(CUDA)
    losses = []
    for _ in range(30):
        with torch.autocast(CUDA.type, dtype=torch.bfloat16):
            logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1).float(), ids[:, 1:].flatten())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_weights_saved_on_the_gpu_load_on_the_cpu_and_back(tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    model = GPT(CONFIG, generator=torch.Generator().manual_seed(3)).to(CUDA)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state.pop("head.weight")  # tied to the token embedding
    save_file(state, str(tmp_path / "w.safetensors"))
    on_cpu = GPT(CONFIG)
    loaded = load_file(str(tmp_path / "w.safetensors"), device="cpu")
    on_cpu.load_state_dict(loaded, strict=False)
    ids = _ids(B=1)
    with torch.no_grad():
        assert torch.allclose(on_cpu(ids), model(ids.to(CUDA)).cpu(), atol=1e-4)
        back = on_cpu.to(CUDA)
        assert torch.allclose(back(ids.to(CUDA)), model(ids.to(CUDA)), atol=1e-6)


def test_fit_compiled_matches_fit_eager() -> None:
    """TrainConfig.compile on CUDA: the same bf16 run, compiled by inductor, gives the
    same losses within bf16 rounding (3 significant digits) as the eager one."""
    from llmlab.train import TrainConfig, fit

    tokens = torch.randint(0, CONFIG.vocab_size, (20_000,), generator=_gen(5))
    losses = []
    for compile in (False, True):
        model = GPT(CONFIG, generator=_gen(4))
        config = TrainConfig(
            max_steps=5, batch_size=8, seq_len=64, warmup_steps=1, compile=compile
        )
        history = fit(model, tokens, config, device=CUDA, progress=False)
        losses.append(history.train_loss)
    assert losses[1] == pytest.approx(losses[0], abs=2e-2)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
