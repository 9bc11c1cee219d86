"""Context: the window as a hard limit, policies for living within it, rolling the
KV cache, the conversation budget, and probes of what a model does with context."""

from llmlab.context.attention_cost import attention_cost, peak_tensor_bytes
from llmlab.context.conversation import BudgetError, exchanges, fit_conversation
from llmlab.context.probes import (
    attention_by_distance,
    attention_on,
    copy_accuracy,
    induction_scores,
    recall_accuracy,
)
from llmlab.context.recall_task import RecallTask, copy_prompts, recall_prompts
from llmlab.context.rolling import (
    as_context_policy,
    generate_streaming,
    roll,
    streaming_nll,
)
from llmlab.context.window import (
    AttentionSinks,
    ContextOverflowError,
    DropOldest,
    Refuse,
    SlidingWindow,
    check_fits,
    fit_to_window,
)

__all__ = [
    "AttentionSinks",
    "BudgetError",
    "ContextOverflowError",
    "DropOldest",
    "RecallTask",
    "Refuse",
    "SlidingWindow",
    "as_context_policy",
    "attention_by_distance",
    "attention_cost",
    "attention_on",
    "check_fits",
    "copy_accuracy",
    "copy_prompts",
    "exchanges",
    "fit_conversation",
    "fit_to_window",
    "generate_streaming",
    "induction_scores",
    "peak_tensor_bytes",
    "recall_accuracy",
    "recall_prompts",
    "roll",
    "streaming_nll",
]
