"""One rank of the 2-process (gloo, CPU) checks in test_distributed.py.

Run as ``python -m tests.train.dist_worker RANK PORT OUT_DIR``; rank 0 writes
``results.json`` into OUT_DIR. Several checks share one process group, since
starting processes is the expensive part.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard
from torch.nn.parallel import DistributedDataParallel

from llmlab.train import TrainConfig, fit, save_checkpoint
from tests.train.conftest import code_token_array, tiny_model

CONFIG = TrainConfig(
    max_steps=4, batch_size=4, grad_accum_steps=2, seq_len=16, warmup_steps=1
)


def fsdp2(model: torch.nn.Module) -> torch.nn.Module:
    for block in model.blocks:
        fully_shard(block)
    return fully_shard(model)


def main() -> None:
    rank, port, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2
    )
    torch.set_num_threads(1)
    tokens = code_token_array()
    results = {}
    ddp = DistributedDataParallel(tiny_model(0))
    history = fit(ddp, tokens, CONFIG, progress=False, checkpoint_dir=out / "ddp")
    results["ddp_losses"] = history.train_loss
    results["ddp_weights"] = {
        k: v.tolist() for k, v in ddp.module.state_dict().items() if "norm1" in k
    }
    sharded = fsdp2(tiny_model(0))
    results["fsdp_losses"] = fit(sharded, tokens, CONFIG, progress=False).train_loss
    save_checkpoint(out / "fsdp", modules={"policy": sharded}, step=4)
    if rank == 0:
        (out / "results.json").write_text(json.dumps(results))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
