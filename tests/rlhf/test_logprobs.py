import pytest
import torch
import torch.nn.functional as F

from llmlab.model import GPT, PRESETS
from llmlab.rlhf.logprobs import gather_logprobs, response_logprobs, sequence_logprob


def test_gather_logprobs_matches_cross_entropy() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 11, generator=g) * 30
    targets = torch.randint(11, (2, 5), generator=g)
    want = -F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    assert torch.allclose(gather_logprobs(logits, targets), want, atol=1e-5)


def test_response_logprobs_equal_a_plain_forward_pass() -> None:
    torch.manual_seed(0)
    model = GPT(PRESETS["tiny"]).eval()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(model.config.vocab_size, (3, 9), generator=g)
    mask = torch.zeros(3, 9, dtype=torch.bool)
    mask[:, 4:] = True
    mask[1, 7:] = False  # a shorter response, right padded
    with torch.no_grad():
        got, _ = response_logprobs(model, ids, mask)
        for b in range(3):
            for t in range(9):
                if not mask[b, t]:
                    assert got[b, t] == 0
                    continue
                # score token t from a forward pass over the prefix only
                logits = model(ids[b : b + 1, :t])[0, -1]
                want = torch.log_softmax(logits, -1)[ids[b, t]]
                assert got[b, t].item() == pytest.approx(want.item(), abs=1e-5)
        total = sequence_logprob(got, mask)
    assert total[1].item() == pytest.approx(got[1, 4:7].sum().item())


def test_response_logprobs_rejects_a_mask_on_the_first_token() -> None:
    model = GPT(PRESETS["tiny"])
    ids = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="mask\\[:, 0\\]"):
        response_logprobs(model, ids, torch.ones(1, 4, dtype=torch.bool))
