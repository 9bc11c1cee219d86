"""The model zoo: small pretrained models, trained on demand and cached on disk.

Later chapters (sampling, the KV cache, context) need a model that has already
learned something. ``pretrained("stdlib-small")`` returns one: a byte-level BPE
tokenizer and a GPT trained on the Python standard library's own source. The first
call trains both (a few minutes on a laptop CPU); every later call loads them from
the cache directory without training.

The cache key is a hash of the recipe (``ZooSpec``) *and* of the corpus bytes, and
every seed is fixed, so a given Python version always gets the same model; a
different standard library (another Python version) gets its own entry. A build
checkpoints as it goes and resumes if interrupted.

Taught in: chapters/06_pretraining.ipynb (built there in miniature; used from
chapter 07 on)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from llmlab.data import stdlib_files, tokenize_files
from llmlab.model import GPT, GPTConfig
from llmlab.tokenizer import BPETokenizer
from llmlab.train import checkpoint as ckpt
from llmlab.train.config import TrainConfig
from llmlab.train.loop import fit
from llmlab.utils.atomic import atomic_replace


@dataclass(frozen=True)
class ZooSpec:
    """The full recipe of a zoo model: tokenizer, architecture, training run."""

    name: str
    vocab_size: int = 2048
    """BPE vocabulary, special tokens included."""
    model: GPTConfig = field(default_factory=GPTConfig)
    """Architecture; its vocab_size is set from the tokenizer."""
    train: TrainConfig = field(default_factory=TrainConfig)
    val_every: int = 10
    """Every ``val_every``-th corpus file is held out for validation."""
    max_files: int | None = None
    """Use only the first files of the corpus (tiny test recipes)."""
    seed: int = 0
    """Seed of the model's initial weights."""

    def __post_init__(self) -> None:
        if self.val_every < 2:
            raise ValueError(f"val_every={self.val_every} must be >= 2")
        if self.max_files is not None and self.max_files < self.val_every:
            raise ValueError(f"max_files={self.max_files} must be >= val_every")


ZOO: dict[str, ZooSpec] = {
    # About 1.3 million parameters, trained on about 4.9 million tokens (two
    # passes over the training files): sized to build in under 10 minutes on 2
    # CPU cores (once per CI run, shared by every chapter). A 4096-token
    # vocabulary packs more bytes into each token than 2048, so the same compute
    # covers more text; RoPE and RMSNorm learn faster than learned positions and
    # LayerNorm at this scale; bf16 autocast halves the step time on CPUs with
    # native bf16 matmuls (``TrainConfig.cpu_bf16``).
    "stdlib-small": ZooSpec(
        name="stdlib-small",
        vocab_size=4096,
        model=GPTConfig(
            context_length=256,
            d_model=128,
            n_heads=4,
            n_layers=4,
            d_ff=512,
            position="rope",
            norm="rmsnorm",
            bias=False,
        ),
        train=TrainConfig(
            max_steps=1200,
            batch_size=16,
            lr=4e-3,
            min_lr=2e-4,
            warmup_steps=20,
            eval_interval=400,
            eval_batches=8,
            checkpoint_interval=200,
            cpu_bf16=True,
        ),
    ),
    # The draft model for speculative decoding (chapter 08): the same corpus and
    # vocabulary (the tokenizer training is deterministic, so both entries get the
    # same tokenizer), a much smaller network, half the training. Two layers, not
    # one: copying a pattern from earlier in the text takes two attention layers
    # (an induction head), and a one-layer draft agreed with the target's greedy
    # tokens only 5 % of the time.
    "stdlib-draft": ZooSpec(
        name="stdlib-draft",
        vocab_size=4096,
        model=GPTConfig(
            context_length=256,
            d_model=64,
            n_heads=2,
            n_layers=2,
            d_ff=256,
            position="rope",
            norm="rmsnorm",
            bias=False,
        ),
        train=TrainConfig(
            max_steps=600,
            batch_size=16,
            lr=6e-3,
            min_lr=3e-4,
            warmup_steps=10,
            eval_interval=300,
            eval_batches=4,
            checkpoint_interval=200,
            cpu_bf16=True,
        ),
    ),
}


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "llmlab"


def pretrained(
    name: str | ZooSpec = "stdlib-small",
    *,
    cache_dir: str | Path | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> tuple[GPT, BPETokenizer]:
    """(model, tokenizer) of a zoo recipe: loaded from the cache, else trained first.

    ``cache_dir`` defaults to ``~/.cache/llmlab``. The model is returned in eval
    mode on ``device`` (default CPU).
    """
    spec = ZOO[name] if isinstance(name, str) and name in ZOO else name
    if not isinstance(spec, ZooSpec):
        raise KeyError(f"no zoo model named {name!r}; known: {sorted(ZOO)}")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = _corpus(spec)
    final = root / "zoo" / f"{spec.name}-{_key(spec, files)[:16]}"
    if ckpt.exists(final):
        try:
            return load(final, device=device)
        except _DAMAGED:  # a damaged entry (truncated file...): build it again
            shutil.rmtree(final)
    _build(spec, files, final, root, progress=progress)
    return load(final, device=device)


_DAMAGED = (ckpt.CheckpointError, ValueError, KeyError, TypeError, OSError)


def load(directory: str | Path, *, device=None) -> tuple[GPT, BPETokenizer]:
    """Load a built zoo entry (tokenizer.json + checkpoint) without training."""
    directory = Path(directory)
    index, _ = ckpt.read(directory)
    model = GPT(ckpt.config_from_dict(GPTConfig, ckpt.module_config(index)))
    ckpt.load(directory, model=model)
    tokenizer = BPETokenizer.load(directory / "tokenizer.json")
    return model.to(device or "cpu").eval(), tokenizer


def _build(
    spec: ZooSpec, files: list[Path], final: Path, root: Path, *, progress: bool
) -> None:
    """Train the tokenizer and the model into ``final.partial``, then rename it.

    An interrupted build resumes from what ``.partial`` holds; a damaged part
    (a truncated tokenizer or checkpoint) is discarded and built again.
    """
    work = final.with_name(final.name + ".partial")
    try:
        _build_in(spec, files, work, root, progress=progress)
    except ckpt.CheckpointLockedError:
        raise  # another process is building this entry: leave its work alone
    except _DAMAGED:
        shutil.rmtree(work, ignore_errors=True)
        _build_in(spec, files, work, root, progress=progress)
    (work / "spec.json").write_text(json.dumps(_spec_dict(spec), indent=1))
    if final.exists():  # another process finished first: keep its copy
        shutil.rmtree(work)
    else:
        work.rename(final)  # atomic: the entry appears complete or not at all


def _build_in(
    spec: ZooSpec, files: list[Path], work: Path, root: Path, *, progress: bool
) -> None:
    work.mkdir(parents=True, exist_ok=True)
    train_files = [f for i, f in enumerate(files) if i % spec.val_every]
    val_files = files[:: spec.val_every]
    tokenizer = _tokenizer(work / "tokenizer.json", train_files, spec, progress)
    tokens = {
        split: tokenize_files(
            split_files,
            tokenizer,
            cache_dir=root / "tokens",
            separator_id=tokenizer.eot_id,
            progress=progress,
        )
        for split, split_files in (("train", train_files), ("val", val_files))
    }
    model_config = dataclasses.replace(spec.model, vocab_size=tokenizer.vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = GPT(model_config)
    fit(
        model,
        tokens["train"],
        spec.train,
        seq_len=model_config.context_length,
        val_tokens=tokens["val"],
        device="cpu",
        progress=progress,
        checkpoint_dir=work,
        resume=True,
    )


def _tokenizer(path: Path, files: list[Path], spec: ZooSpec, progress: bool):
    """The build's tokenizer: loaded if a complete one is there, else trained."""
    if path.is_file():
        try:
            return BPETokenizer.load(path)
        except _DAMAGED:
            path.unlink()  # truncated by a crash or a full disk: train again
    tokenizer = BPETokenizer.train(
        [str(f) for f in files], vocab_size=spec.vocab_size, progress=progress
    )
    with atomic_replace(path) as tmp:  # a crash leaves no half-written file
        tokenizer.save(tmp)
    return tokenizer


def _corpus(spec: ZooSpec) -> list[Path]:
    files = stdlib_files()
    return files[: spec.max_files] if spec.max_files is not None else files


def _spec_dict(spec: ZooSpec) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(spec), default=str))


def _key(spec: ZooSpec, files: list[Path]) -> str:
    digest = hashlib.sha256(json.dumps(_spec_dict(spec), sort_keys=True).encode())
    digest.update(torch.__version__.split("+")[0].encode())
    for path in files:
        content = path.read_bytes()
        digest.update(f"{len(content)}:".encode())
        digest.update(content)
    return digest.hexdigest()
