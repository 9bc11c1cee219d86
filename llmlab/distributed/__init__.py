"""Training one model on several processes: data, tensor and pipeline parallelism.

Parallelism is applied from outside to a plain ``llmlab`` GPT (the model never
imports ``torch.distributed``); ``parallelize`` fixes the order in which the
pieces compose."""

from llmlab.distributed.comm_counter import CommCounter, wire_bytes
from llmlab.distributed.ddp import BucketedDataParallel, apply_ddp
from llmlab.distributed.dims import ParallelDims, parse_layout
from llmlab.distributed.fsdp import apply_fsdp
from llmlab.distributed.gather import full_state_dict, save_full_checkpoint, unwrap
from llmlab.distributed.launch import (
    RankFailure,
    destroy_process_group,
    init_process_group,
    process_group,
    run_on_ranks,
)
from llmlab.distributed.memory import stage_parameters, state_bytes_per_rank
from llmlab.distributed.parallelize import apply_activation_checkpointing, parallelize
from llmlab.distributed.pipeline import (
    Event,
    bubble_fraction,
    measured_bubble,
    run_schedule,
    run_torch_schedule,
    schedule_order,
    torch_schedule,
)
from llmlab.distributed.stages import (
    Stage,
    build_stage,
    gather_stage_state,
    sync_tied_gradients,
)
from llmlab.distributed.tensor_parallel import (
    ColumnParallelLinear,
    RowParallelLinear,
    apply_manual_tensor_parallel,
    apply_tensor_parallel,
    replicate_the_rest,
    tensor_parallel_plan,
)

__all__ = [
    "BucketedDataParallel",
    "ColumnParallelLinear",
    "CommCounter",
    "Event",
    "ParallelDims",
    "RankFailure",
    "RowParallelLinear",
    "Stage",
    "apply_activation_checkpointing",
    "apply_ddp",
    "apply_fsdp",
    "apply_manual_tensor_parallel",
    "apply_tensor_parallel",
    "bubble_fraction",
    "build_stage",
    "destroy_process_group",
    "full_state_dict",
    "gather_stage_state",
    "init_process_group",
    "measured_bubble",
    "parallelize",
    "parse_layout",
    "process_group",
    "replicate_the_rest",
    "run_on_ranks",
    "run_schedule",
    "run_torch_schedule",
    "save_full_checkpoint",
    "schedule_order",
    "stage_parameters",
    "state_bytes_per_rank",
    "sync_tied_gradients",
    "tensor_parallel_plan",
    "torch_schedule",
    "unwrap",
    "wire_bytes",
]
