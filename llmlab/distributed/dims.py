"""A parallel layout: how many ways the work is split along each axis, validated.

A layout multiplies out to the world size: ``pp · dp · fsdp · tp = world_size``.
``dp`` replicates the model and splits the batch (DDP), ``fsdp`` also splits the
batch but shards parameters, gradients and optimizer state (ZeRO-3), ``tp`` splits
each layer's matrices (heads and feed-forward units), ``pp`` splits the stack of
layers into stages. ``build_mesh`` arranges the ranks in a grid with one named axis
per degree, outermost first (pipeline, then data, then tensor), so the ranks of one
tensor-parallel group are neighbours: on a multi-GPU node they share the fastest
links, and tensor parallelism talks the most.

Differs from torchtitan's ``ParallelDims`` in: no context or expert parallelism,
and a check of the model's shape (heads, layers) against the layout.

Taught in: chapters/12_distributed.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

from llmlab.model import GPTConfig

AXES = ("pp", "dp", "fsdp", "tp")


@dataclass(frozen=True)
class ParallelDims:
    world_size: int
    """Number of processes (ranks) in the job."""
    dp: int = 1
    """Data-parallel replicas (DDP): each holds the whole model."""
    fsdp: int = 1
    """Data-parallel shards (FSDP2): parameters split across these ranks."""
    tp: int = 1
    """Tensor-parallel degree: each layer's heads and hidden units split this way."""
    pp: int = 1
    """Pipeline stages: the layers split into this many consecutive groups."""

    def __post_init__(self) -> None:
        for name in ("world_size", *AXES):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        product = self.pp * self.dp * self.fsdp * self.tp
        if product != self.world_size:
            raise ValueError(
                f"pp={self.pp} · dp={self.dp} · fsdp={self.fsdp} · tp={self.tp} "
                f"= {product}, but world_size={self.world_size}: the degrees must "
                "multiply to the number of processes"
            )
        if self.dp > 1 and self.fsdp > 1:
            raise ValueError(
                f"dp={self.dp} and fsdp={self.fsdp}: choose replicated (dp) or "
                "sharded (fsdp) data parallelism, not both (HSDP is not taught here)"
            )

    @property
    def data_parallel(self) -> int:
        """Ways the global batch is split: dp · fsdp."""
        return self.dp * self.fsdp

    def check_model(self, config: GPTConfig) -> None:
        """Raise a ValueError naming the numbers if ``config`` cannot be split so."""
        if config.n_heads % self.tp:
            raise ValueError(
                f"n_heads={config.n_heads} is not divisible by tp={self.tp}: "
                "tensor parallelism gives each rank whole heads"
            )
        if config.kv_heads % self.tp:
            raise ValueError(
                f"key/value heads={config.kv_heads} not divisible by tp={self.tp}"
            )
        if config.d_ff % self.tp:
            raise ValueError(f"d_ff={config.d_ff} is not divisible by tp={self.tp}")
        if config.n_layers % self.pp:
            raise ValueError(
                f"n_layers={config.n_layers} is not divisible by pp={self.pp}: "
                "each pipeline stage gets the same number of layers"
            )

    def check_batch(self, batch_size: int, micro_batches: int = 1) -> None:
        """The global batch must split evenly across data-parallel ranks and into
        ``micro_batches`` (the pipeline's)."""
        per_rank, left = divmod(batch_size, self.data_parallel)
        if left or per_rank % micro_batches:
            raise ValueError(
                f"batch_size={batch_size} must be divisible by dp·fsdp="
                f"{self.data_parallel} and then by micro_batches={micro_batches}"
            )

    def build_mesh(self, device_type: str = "cpu") -> DeviceMesh:
        """A DeviceMesh over all ranks with axes ("pp", "dp", "fsdp", "tp").

        Axes of size 1 are kept, so ``mesh["tp"]`` always exists. Needs an
        initialised default process group of ``world_size`` ranks.
        """
        shape = tuple(getattr(self, axis) for axis in AXES)
        return init_device_mesh(device_type, shape, mesh_dim_names=AXES)


def parse_layout(text: str, world_size: int) -> ParallelDims:
    """``"dp=2"`` or ``"tp=2,pp=2"`` -> ParallelDims; unnamed axes are 1.

    Example: parse_layout("fsdp=2", 2) -> ParallelDims(world_size=2, fsdp=2).
    """
    degrees: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        axis, sep, value = item.partition("=")
        if not sep or axis.strip() not in AXES or not value.strip().isdigit():
            raise ValueError(
                f"bad parallel layout item {item!r} in {text!r}: want AXIS=N with "
                f"AXIS one of {AXES}"
            )
        degrees[axis.strip()] = int(value)
    return ParallelDims(world_size=world_size, **degrees)
