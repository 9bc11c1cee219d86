"""Draw the book's structural diagrams (and its favicon) with matplotlib.

    python scripts/make_diagrams.py            # book/figures/*.svg and favicon.png
    python scripts/make_diagrams.py --out DIR  # elsewhere (the tests use a tmp dir)

Every figure in book/figures/ comes from this file: edit it and re-run, never edit the
SVGs by hand. Output is deterministic (fixed SVG ids, no dates), so a re-run without
changes leaves git clean. Captions and alt text live next to each figure's use in the
book (book/figures.md), where a reader sees them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "book" / "figures"

# One palette across figures: a colour per kind of thing.
STREAM = "#e8eef7"  # the residual stream, tensors flowing between steps
NORM = "#fde9c9"  # normalisation
ATTN = "#d6ecd2"  # attention
FFN = "#f6d5d5"  # feed-forward, weights
DATA = "#e6dcf2"  # data, tokens, models
EDGE = "#3b4a5a"
FONT = 11


def box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    color: str,
    size: float = FONT,
) -> None:
    """A rounded box centred on (x, y)."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=color,
            edgecolor=EDGE,
            linewidth=1.2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color="#111111")


def arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    text: str = "",
    style: str = "-|>",
    rad: float = 0.0,
    color: str = EDGE,
    size: float = FONT - 1,
) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=14,
            connectionstyle=f"arc3,rad={rad}",
            color=color,
            linewidth=1.3,
            shrinkA=0,
            shrinkB=0,
        )
    )
    if text:
        mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
        ax.text(
            mx + 0.08, my, text, ha="left", va="center", fontsize=size, color="#333333"
        )


def canvas(width: float, height: float) -> tuple[plt.Figure, Axes]:
    """A figure whose data units are inches, so boxes keep their proportions."""
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def transformer_block() -> plt.Figure:
    fig, ax = canvas(6.0, 7.2)
    x = 2.6
    box(ax, x, 0.45, 3.0, 0.5, "x: residual stream in  (B, T, D)", STREAM)
    box(ax, x, 1.45, 2.2, 0.5, "LayerNorm", NORM)
    box(ax, x, 2.45, 2.8, 0.6, "multi-head causal\nself-attention", ATTN)
    box(ax, x, 3.45, 0.5, 0.5, "+", STREAM, size=16)
    box(ax, x, 4.35, 2.2, 0.5, "LayerNorm", NORM)
    box(ax, x, 5.35, 2.8, 0.6, "feed-forward (MLP)\nD → d_ff → D", FFN)
    box(ax, x, 6.35, 0.5, 0.5, "+", STREAM, size=16)
    for y0, y1 in [
        (0.7, 1.2),
        (1.7, 2.15),
        (2.75, 3.2),
        (3.7, 4.1),
        (4.6, 5.05),
        (5.65, 6.1),
    ]:
        arrow(ax, (x, y0), (x, y1))
    arrow(ax, (x, 6.6), (x, 7.05), "to the next block  (B, T, D)")
    # The residual paths: the input skips each sublayer and is added back.
    skip = 4.6
    ax.plot([x + 1.5, skip, skip], [0.45, 0.45, 3.45], color=EDGE, lw=1.3)
    arrow(ax, (skip, 3.45), (x + 0.25, 3.45))
    ax.plot([x + 0.25, skip - 0.4, skip - 0.4], [3.6, 3.6, 6.35], color=EDGE, lw=1.3)
    arrow(ax, (skip - 0.4, 6.35), (x + 0.25, 6.35))
    ax.text(skip + 0.08, 1.9, "residual\n(skip)", fontsize=FONT - 1, color="#333333")
    ax.text(skip - 0.32, 5.0, "residual\n(skip)", fontsize=FONT - 1, color="#333333")
    return fig


def attention_flow() -> plt.Figure:
    fig, ax = canvas(9.0, 4.6)
    box(ax, 0.9, 2.3, 1.4, 0.8, "X\n(T, D)", STREAM)
    for y, name, color in [
        (3.8, "Q = X W_Q", ATTN),
        (2.3, "K = X W_K", ATTN),
        (0.8, "V = X W_V", FFN),
    ]:
        box(ax, 3.0, y, 1.7, 0.7, f"{name}\n(T, d_k)", color)
        arrow(ax, (1.6, 2.3), (2.15, y))
    box(ax, 5.2, 3.05, 1.9, 0.9, "scores\nQ Kᵀ / √d_k\n(T, T)", STREAM)
    arrow(ax, (3.85, 3.8), (4.25, 3.25))
    arrow(ax, (3.85, 2.3), (4.25, 2.85))
    box(ax, 7.4, 3.05, 2.0, 0.9, "causal mask\n(future → −∞)\nthen softmax", NORM)
    arrow(ax, (6.15, 3.05), (6.4, 3.05))
    box(ax, 7.4, 0.8, 2.0, 0.9, "weights @ V\noutput (T, d_k)", ATTN)
    arrow(ax, (7.4, 2.6), (7.4, 1.25), "weights (T, T),\nrows sum to 1")
    arrow(ax, (3.85, 0.8), (6.4, 0.8))
    return fig


def kv_cache() -> plt.Figure:
    fig, ax = canvas(9.0, 4.4)
    tokens = ["The", "cat", "sat", "on"]
    for step, token in enumerate(tokens):
        x0 = 0.4 + step * 2.2
        ax.text(
            x0 + 0.85,
            4.05,
            f"step {step + 1}: new token “{token}”",
            ha="center",
            fontsize=FONT - 1,
        )
        for row in range(step + 1):
            new = row == step
            y = 3.3 - row * 0.55
            face = ATTN if new else STREAM
            box(ax, x0 + 0.4, y, 0.65, 0.42, f"k{row + 1}", face, size=FONT - 1)
            box(ax, x0 + 1.2, y, 0.65, 0.42, f"v{row + 1}", face, size=FONT - 1)
        box(
            ax,
            x0 + 0.8,
            0.75,
            1.4,
            0.5,
            f"q{step + 1} attends\nto k1..k{step + 1}",
            NORM,
            size=FONT - 2,
        )
        arrow(ax, (x0 + 0.8, 1.05), (x0 + 0.8, 3.3 - step * 0.55 - 0.3))
    ax.text(
        0.4,
        0.12,
        "green: computed this step (one token);  blue: read from the "
        "cache, computed in earlier steps",
        fontsize=FONT - 2,
        color="#333333",
    )
    return fig


def parallelism() -> plt.Figure:
    fig, ax = canvas(10.5, 4.6)
    ax.text(1.7, 4.3, "data parallel", ha="center", fontsize=FONT + 1, weight="bold")
    for i in range(3):
        y = 3.4 - i * 1.05
        box(ax, 1.1, y, 1.1, 0.6, f"batch\nshard {i}", DATA, size=FONT - 2)
        box(ax, 2.5, y, 1.2, 0.6, f"GPU {i}:\nfull model", FFN, size=FONT - 2)
        arrow(ax, (1.65, y), (1.9, y))
    ax.text(
        1.7,
        0.3,
        "gradients all-reduced\n(averaged) every step",
        ha="center",
        fontsize=FONT - 2,
    )

    ax.text(5.25, 4.3, "tensor parallel", ha="center", fontsize=FONT + 1, weight="bold")
    box(ax, 5.25, 3.45, 2.6, 0.5, "one layer's input x (all GPUs)", STREAM, size=9)
    for i in range(3):
        x = 4.4 + i * 0.85
        box(
            ax,
            x,
            2.2,
            0.72,
            1.4,
            f"W\ncolumn\nblock {i}\n(GPU {i})",
            FFN,
            size=FONT - 2,
        )
        arrow(ax, (x, 3.2), (x, 2.9))
        arrow(ax, (x, 1.5), (x, 1.15))
    box(ax, 5.25, 0.9, 2.6, 0.45, "partial outputs gathered", STREAM, size=9)
    ax.text(5.25, 0.3, "each matrix split across GPUs", ha="center", fontsize=FONT - 2)

    ax.text(
        8.75, 4.3, "pipeline parallel", ha="center", fontsize=FONT + 1, weight="bold"
    )
    for i in range(3):
        y = 3.4 - i * 1.05
        box(
            ax,
            8.75,
            y,
            2.4,
            0.6,
            f"GPU {i}: layers {4 * i}–{4 * i + 3}",
            ATTN,
            size=FONT - 2,
        )
        if i:
            arrow(ax, (8.75, y + 0.75), (8.75, y + 0.3))
    ax.text(
        8.75,
        0.3,
        "micro-batches flow stage to stage;\nactivations passed on",
        ha="center",
        fontsize=FONT - 2,
    )
    return fig


def rlhf_loop() -> plt.Figure:
    fig, ax = canvas(9.0, 5.0)
    box(ax, 1.2, 4.4, 1.9, 0.6, "pretrained\nbase model", DATA)
    box(ax, 3.7, 4.4, 2.0, 0.6, "SFT on\ndemonstrations", FFN)
    box(ax, 6.4, 4.4, 2.3, 0.6, "reward model from\nhuman comparisons", NORM)
    arrow(ax, (2.15, 4.4), (2.7, 4.4))
    arrow(ax, (4.7, 4.4), (5.25, 4.4))
    box(ax, 2.2, 2.5, 2.2, 0.7, "policy samples\nresponses to prompts", ATTN)
    box(ax, 6.4, 2.5, 2.3, 0.7, "reward model\nscores each response", NORM)
    ppo = "PPO update: raise reward,\nKL penalty to the SFT model"
    box(ax, 4.3, 0.95, 3.2, 0.7, ppo, FFN)
    arrow(ax, (3.7, 4.1), (2.6, 2.85), "policy starts\nas the SFT model")
    arrow(ax, (6.4, 4.1), (6.4, 2.85))
    arrow(ax, (3.3, 2.5), (5.25, 2.5))
    arrow(ax, (6.4, 2.15), (5.6, 1.3))
    arrow(ax, (2.7, 0.95), (2.0, 2.15), rad=-0.3)
    ax.text(1.25, 1.3, "repeat", ha="right", fontsize=FONT - 1, color="#333333")
    ax.text(
        4.5,
        0.15,
        "DPO skips the reward model and the sampling loop: it trains "
        "on the comparisons directly",
        ha="center",
        fontsize=FONT - 2,
        color="#333333",
    )
    return fig


def favicon() -> plt.Figure:
    fig = plt.figure(figsize=(0.64, 0.64), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.axis("off")
    ax.add_patch(
        FancyBboxPatch(
            (0.04, 0.04),
            0.92,
            0.92,
            boxstyle="round,pad=0,rounding_size=0.18",
            facecolor="#2f5d8a",
            edgecolor="none",
        )
    )
    ax.text(
        0.5,
        0.47,
        "L",
        ha="center",
        va="center",
        fontsize=30,
        color="white",
        weight="bold",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    return fig


DIAGRAMS: dict[str, Callable[[], plt.Figure]] = {
    "transformer_block.svg": transformer_block,
    "attention_flow.svg": attention_flow,
    "kv_cache.svg": kv_cache,
    "parallelism.svg": parallelism,
    "rlhf_loop.svg": rlhf_loop,
}


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    plt.rcParams["svg.hashsalt"] = "llmlab"  # stable element ids
    written = []
    for name, draw in DIAGRAMS.items():
        fig = draw()
        path = args.out / name
        fig.savefig(path, metadata={"Date": None, "Creator": None})
        plt.close(fig)
        written.append(path)
    fig = favicon()
    path = args.out / "favicon.png"
    fig.savefig(path, dpi=100, transparent=True, metadata={"Software": None})
    plt.close(fig)
    written.append(path)
    for path in written:
        print(path.name)
    return written


if __name__ == "__main__":
    main()
