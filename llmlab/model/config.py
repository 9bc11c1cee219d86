"""Model configuration: one frozen dataclass with every switch, and named presets.

Every variant the chapters discuss (positional scheme, norm type and placement,
feed-forward type, attention implementation, grouped-query attention, weight tying)
is a field here, so a variant is ``dataclasses.replace(PRESETS["tiny"], ...)`` and
never a second copy of the model.

Differs from the papers in: one config covers GPT-2, GPT-3 and Llama-2 shapes; the
published models each fix most of these switches.

Taught in: chapters/00_overview.ipynb, chapters/04_transformer_block.ipynb
"""

from __future__ import annotations

from dataclasses import dataclass

POSITIONS = ("none", "sinusoidal", "learned", "rope", "alibi")
NORMS = ("layernorm", "rmsnorm")
NORM_PLACEMENTS = ("pre", "post")
FFNS = ("relu", "gelu", "gelu_tanh", "swiglu")
ATTENTIONS = ("reference", "sdpa", "flash")


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 256
    """Number of token ids."""
    context_length: int = 64
    """Longest sequence the model accepts."""
    d_model: int = 32
    """Width of every token's vector."""
    n_heads: int = 4
    """Query heads per attention layer."""
    n_layers: int = 2
    """Transformer blocks stacked."""
    d_ff: int = 128
    """Hidden width of the feed-forward network."""
    n_kv_heads: int | None = None
    """Key/value heads (grouped-query attention); None means one per query head."""
    position: str = "learned"
    """Positional scheme: one of POSITIONS."""
    norm: str = "layernorm"
    """Normalisation: "layernorm" or "rmsnorm"."""
    norm_placement: str = "pre"
    """"pre" (GPT-2 onwards) or "post" (the original transformer)."""
    norm_eps: float = 1e-5
    """Added to the variance inside the norm, for numerical safety."""
    ffn: str = "gelu"
    """Feed-forward type: one of FFNS ("gelu_tanh" is GPT-2's approximation)."""
    attention: str = "sdpa"
    """Attention implementation: "reference", "sdpa" (default) or "flash"."""
    attention_window: int | None = None
    """Sliding-window size (each token sees itself and window-1 earlier ones)."""
    attention_stride: int | None = None
    """Strided sparse pattern (Child et al. 2019); None means dense causal."""
    flash_block_size: int = 64
    """Tile size of the "flash" implementation."""
    dropout: float = 0.0
    """Dropout probability on embeddings, attention weights and residual branches."""
    bias: bool = True
    """Biases in linear layers and LayerNorm (GPT-2: yes, Llama: no)."""
    tie_embeddings: bool = True
    """Share the token embedding matrix with the output head."""
    rope_theta: float = 10_000.0
    """Base of RoPE's rotation frequencies."""

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "context_length",
            "d_model",
            "n_heads",
            "n_layers",
            "d_ff",
            "flash_block_size",
        ):
            _check_positive_int(name, getattr(self, name))
        for name in ("n_kv_heads", "attention_window", "attention_stride"):
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        _check_choice("position", self.position, POSITIONS)
        _check_choice("norm", self.norm, NORMS)
        _check_choice("norm_placement", self.norm_placement, NORM_PLACEMENTS)
        _check_choice("ffn", self.ffn, FFNS)
        _check_choice("attention", self.attention, ATTENTIONS)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )
        if self.n_heads % self.kv_heads:
            raise ValueError(
                f"n_heads={self.n_heads} must be divisible by "
                f"n_kv_heads={self.n_kv_heads}"
            )
        if self.position == "rope" and self.d_head % 2:
            raise ValueError(f"RoPE needs an even d_head, got d_head={self.d_head}")
        if self.position == "sinusoidal" and self.d_model % 2:
            raise ValueError(f"sinusoidal needs an even d_model, got {self.d_model}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must be in [0, 1)")
        if self.norm_eps <= 0 or self.rope_theta <= 0:
            raise ValueError(
                f"norm_eps={self.norm_eps} and rope_theta={self.rope_theta} must be > 0"
            )

    @property
    def d_head(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        """Number of key/value heads actually used (n_kv_heads or n_heads)."""
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive int")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} must be one of {choices}")


_LLAMA_STYLE = dict(
    position="rope", norm="rmsnorm", ffn="swiglu", bias=False, tie_embeddings=False
)

PRESETS: dict[str, GPTConfig] = {
    # Forward + backward in milliseconds on a CPU: for tests and quick demos.
    "tiny": GPTConfig(),
    # Course-sized: trains on the standard-library corpus in about a minute on 2 cores.
    "small": GPTConfig(
        context_length=128, d_model=128, n_heads=4, n_layers=4, d_ff=512
    ),
    # The same size with the Llama recipe: RoPE, RMSNorm, SwiGLU, grouped-query.
    "small-llama": GPTConfig(
        context_length=128,
        d_model=128,
        n_heads=4,
        n_kv_heads=2,
        n_layers=4,
        d_ff=344,
        **_LLAMA_STYLE,
    ),
    # Published shapes, for counting on the meta device (Radford et al. 2019;
    # Brown et al. 2020, arXiv:2005.14165, table 2.1; Touvron et al. 2023,
    # arXiv:2307.09288).
    "gpt2-124m": GPTConfig(
        vocab_size=50_257,
        context_length=1024,
        d_model=768,
        n_heads=12,
        n_layers=12,
        d_ff=3072,
        ffn="gelu_tanh",
    ),
    "gpt3-175b": GPTConfig(
        vocab_size=50_257,
        context_length=2048,
        d_model=12_288,
        n_heads=96,
        n_layers=96,
        d_ff=4 * 12_288,
        ffn="gelu_tanh",
    ),
    "llama2-70b": GPTConfig(
        vocab_size=32_000,
        context_length=4096,
        d_model=8192,
        n_heads=64,
        n_kv_heads=8,
        n_layers=80,
        d_ff=28_672,
        **_LLAMA_STYLE,
    ),
}
