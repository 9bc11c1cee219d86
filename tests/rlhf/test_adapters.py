import torch

from llmlab.model import GPT
from llmlab.rlhf import task
from llmlab.rlhf._adapters import sample


def test_cached_and_uncached_sampling_draw_the_same_tokens() -> None:
    torch.manual_seed(0)
    model = GPT(task.MODEL_CONFIG).eval()
    prompts = task.sample_prompts(8, generator=torch.Generator().manual_seed(1))
    runs = [
        sample(
            model,
            prompts,
            max_new_tokens=task.RESPONSE_LEN,
            generator=torch.Generator().manual_seed(2),
            use_cache=use_cache,
        )
        for use_cache in (True, False)
    ]
    assert runs[0].shape == (8, task.RESPONSE_LEN)
    assert torch.equal(runs[0], runs[1])


def test_low_temperature_sampling_is_greedy() -> None:
    torch.manual_seed(0)
    model = GPT(task.MODEL_CONFIG).eval()
    prompts = task.sample_prompts(4, generator=torch.Generator().manual_seed(1))
    got = sample(model, prompts, max_new_tokens=3, temperature=1e-4)
    ids = prompts
    with torch.no_grad():
        for _ in range(3):
            ids = torch.cat([ids, model(ids)[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(got, ids[:, prompts.shape[1] :])
