"""Small models for the context chapters, trained on demand and cached on disk.

Chapters 10 and 11 need models that have learned one thing each: to copy from the
context (the synthetic recall task of ``llmlab.context.recall_task``), or plain
byte-level text at a fixed length with each positional scheme (to see which schemes
extrapolate). Each trains in well under a minute on two CPU cores with
``llmlab.train.fit``; the result is cached under the zoo's cache root
(``~/.cache/llmlab/context/<name>-<hash>``), keyed by a hash of the recipe, the
training data and the torch version, so a chapter trains it once and loads it after.

``fine_tune_fact`` trains one key → value fact into a copy of the recall model (the
"context vs training data" experiment), also cached.

Taught in: chapters/10_long_context.ipynb, chapters/11_what_context_is_not.ipynb
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from llmlab.context.recall_task import RecallTask, document, stream
from llmlab.data import read_text, stdlib_files
from llmlab.model import GPT, GPTConfig
from llmlab.recipes.zoo import default_cache_dir
from llmlab.train import checkpoint as ckpt
from llmlab.train.config import TrainConfig
from llmlab.train.loop import fit

RECALL_TASK = RecallTask(n_content=24, doc_len=64)
TEXT_BYTES = 400_000
"""Bytes of standard-library source the text models read (train + validation)."""


@dataclass(frozen=True)
class ContextModelSpec:
    name: str
    model: GPTConfig
    train: TrainConfig = field(default_factory=TrainConfig)
    data: str = "recall"
    """"recall" (the synthetic task) or "text" (standard-library bytes)."""
    n_tokens: int = 200_000
    """Training tokens generated ("recall") or read ("text")."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in ("recall", "text"):
            raise ValueError(f"data={self.data!r} must be 'recall' or 'text'")


_FAST = dict(
    batch_size=16,
    lr=1e-2,
    min_lr=1e-3,
    warmup_steps=20,
    weight_decay=0.0,
    eval_interval=1000,
)
_TEXT = GPTConfig(vocab_size=256, context_length=64, d_model=64, n_layers=2, d_ff=256)

CONTEXT_MODELS: dict[str, ContextModelSpec] = {
    # ALiBi's steepest heads start out looking at the previous few tokens, the first
    # half of an induction circuit, so copying appears within the step budget.
    "recall": ContextModelSpec(
        name="recall",
        model=GPTConfig(
            vocab_size=RECALL_TASK.vocab_size,
            context_length=RECALL_TASK.doc_len,
            d_model=64,
            n_heads=8,
            n_layers=2,
            d_ff=256,
            position="alibi",
        ),
        train=TrainConfig(
            max_steps=1500,
            batch_size=32,
            lr=3e-3,
            min_lr=3e-4,
            warmup_steps=50,
            weight_decay=0.0,
            eval_interval=10_000,
        ),
        n_tokens=1_000_000,
    ),
    **{
        f"text-{scheme}": ContextModelSpec(
            name=f"text-{scheme}",
            model=dataclasses.replace(_TEXT, position=scheme),
            train=TrainConfig(max_steps=300, **_FAST),
            data="text",
            n_tokens=TEXT_BYTES,
        )
        for scheme in ("learned", "sinusoidal", "rope", "alibi")
    },
}


def text_tokens(n_bytes: int = TEXT_BYTES) -> torch.Tensor:
    """Standard-library source as byte ids: (n_bytes,) int64."""
    data = read_text(stdlib_files(), max_bytes=n_bytes).encode("utf-8")[:n_bytes]
    return torch.tensor(list(data), dtype=torch.long)


def training_tokens(spec: ContextModelSpec) -> torch.Tensor:
    """The 1-D token stream a spec trains on (deterministic)."""
    if spec.data == "text":
        return text_tokens(spec.n_tokens)
    return stream(RECALL_TASK, spec.n_tokens, torch.Generator().manual_seed(spec.seed))


def context_model(
    name: str | ContextModelSpec,
    *,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> GPT:
    """The trained model of a recipe (eval mode, CPU): from the cache, else trained."""
    spec = CONTEXT_MODELS.get(name) if isinstance(name, str) else name
    if not isinstance(spec, ContextModelSpec):
        raise KeyError(f"no context model {name!r}; known: {sorted(CONTEXT_MODELS)}")
    tokens = training_tokens(spec)
    directory = _entry(cache_dir, spec.name, _key(_spec_dict(spec), tokens))
    if not ckpt.exists(directory):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            model = GPT(spec.model)
        fit(
            model,
            tokens,
            spec.train,
            seq_len=spec.model.context_length,
            device="cpu",
            progress=progress,
        )
        _publish(directory, model)
    return _load(directory)


def fact_stream(task: RecallTask, key: int, value: int, n_tokens: int, seed: int):
    """Task documents with ``mark key value`` planted at the start of each one, so
    the pair is always a first occurrence: only memorising it predicts ``value``."""
    g = torch.Generator().manual_seed(seed)
    ids: list[int] = []
    while len(ids) < n_tokens:
        doc = [i if i != key else (key + 1) % task.n_content for i in document(task, g)]
        ids += [task.mark, key, value] + doc[: task.doc_len - 3]
    return torch.tensor(ids[:n_tokens], dtype=torch.long)


def fine_tune_fact(
    base: GPT,
    *,
    key: int,
    value: int,
    steps: int = 40,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> GPT:
    """A copy of the recall model with ``key -> value`` trained into its weights."""
    config = TrainConfig(max_steps=steps, **{**_FAST, "lr": 1e-3, "warmup_steps": 5})
    tokens = fact_stream(RECALL_TASK, key, value, 20_000, seed=1)
    weights = hashlib.sha256()
    for tensor in base.state_dict().values():
        weights.update(tensor.detach().cpu().numpy().tobytes())
    recipe = {
        "key": key,
        "value": value,
        "train": config.to_dict(),
        "base": weights.hexdigest(),
    }
    directory = _entry(cache_dir, f"fact-{key}-{value}", _key(recipe, tokens))
    if not ckpt.exists(directory):
        model = copy.deepcopy(base).train()
        seq_len = base.config.context_length
        fit(model, tokens, config, seq_len=seq_len, device="cpu", progress=progress)
        _publish(directory, model)
    return _load(directory)


def _entry(cache_dir, name: str, key: str) -> Path:
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "context" / f"{name}-{key[:16]}"


def _publish(directory: Path, model: GPT) -> None:
    """Save into ``directory.partial`` and rename: the entry appears whole or not."""
    work = directory.with_name(directory.name + ".partial")
    if work.exists():
        shutil.rmtree(work)
    ckpt.save(work, model=model)
    if not directory.exists():
        work.rename(directory)
    else:  # another process finished first
        shutil.rmtree(work)


def _load(directory: Path) -> GPT:
    index, _ = ckpt.read(directory)
    model = GPT(ckpt.config_from_dict(GPTConfig, ckpt.module_config(index)))
    ckpt.load(directory, model=model)
    return model.eval()


def _spec_dict(spec: ContextModelSpec) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(spec), default=str))


def _key(recipe: dict, tokens: torch.Tensor) -> str:
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    digest.update(torch.__version__.split("+")[0].encode())
    digest.update(tokens.numpy().tobytes())
    return digest.hexdigest()
