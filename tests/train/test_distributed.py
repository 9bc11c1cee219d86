"""Two processes (gloo, CPU): fit on DDP and FSDP2 models equals one process at the
same global batch; an FSDP2 model's checkpoint loads into a plain model."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from llmlab.train import checkpoint as ckpt
from llmlab.train import fit, load_checkpoint
from tests.conftest import REPO
from tests.train.conftest import code_token_array, tiny_model
from tests.train.dist_worker import CONFIG

TIMEOUT = 180  # seconds: a hung collective fails the test instead of CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    port = _free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.train.dist_worker",
                str(r),
                str(port),
                str(out),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT)[0])
    finally:
        for p in procs:
            p.kill()
    assert all(p.returncode == 0 for p in procs), "\n".join(logs)[-3000:]
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def single():
    model = tiny_model(0)
    return model, fit(model, code_token_array(), CONFIG, progress=False)


def test_ddp_fit_equals_one_process_at_the_same_global_batch(two_ranks, single):
    out, results = two_ranks
    model, history = single
    np.testing.assert_allclose(results["ddp_losses"], history.train_loss, atol=1e-5)
    for name, value in results["ddp_weights"].items():
        torch.testing.assert_close(
            torch.tensor(value), model.state_dict()[name], atol=1e-5, rtol=0
        )
    # rank 0 wrote the unwrapped model: it loads into a plain GPT
    plain = tiny_model(seed=7)
    index = ckpt.load(out / "ddp", model=plain)
    assert index["step"] == CONFIG.max_steps
    for name, value in results["ddp_weights"].items():
        assert torch.equal(plain.state_dict()[name], torch.tensor(value))


def test_fsdp2_fit_equals_one_process(two_ranks, single):
    _, results = two_ranks
    np.testing.assert_allclose(results["fsdp_losses"], single[1].train_loss, atol=1e-5)


def test_fsdp2_checkpoint_loads_into_an_unwrapped_model(two_ranks, single):
    out, _ = two_ranks
    trained, _ = single
    plain = tiny_model(seed=7)
    load_checkpoint(out / "fsdp", modules={"policy": plain})
    assert plain.head.weight is plain.token_embedding.weight  # still tied
    index = json.loads((out / "fsdp" / "checkpoint.json").read_text())
    assert index["modules"]["policy"]["aliases"] == {
        "head.weight": "token_embedding.weight"
    }
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(value, trained.state_dict()[name], atol=1e-5, rtol=0)
