"""The conversation token budget: fit a growing chat into the window, turn by turn.

A chat is one long token sequence (``llmlab.tokenizer.chat_template``) and it
outgrows the window sooner or later. Instead of crashing, ``fit_conversation``
drops the oldest *exchanges* (a user message with the assistant replies that follow
it) until the rendered conversation, plus room for the reply, fits the budget. Two
rules hold whatever the input: the leading system message is never dropped, and a
turn is kept whole or not at all (cutting a turn in half would leave the model a
reply to a question it cannot see). With ``summarize``, the dropped exchanges are
replaced by one system message carrying a caller-made summary of them.

Differs from production chat servers in: the summary is one plain message written by
a caller-supplied function (a model, a rule, a human); nothing is cached.

Taught in: chapters/09_context.ipynb
"""

from __future__ import annotations

from typing import Callable

from llmlab.tokenizer.chat_template import ChatTemplate, Message, as_messages

Summarizer = Callable[[list[Message]], str]
"""summarize(dropped messages) -> the text of one summary message."""


class BudgetError(ValueError):
    """The conversation cannot fit the budget without breaking a rule."""


def exchanges(messages: list[Message]) -> list[list[Message]]:
    """Group the messages after the system message into exchanges.

    [user, assistant, user, assistant, assistant] -> [[u, a], [u, a, a]]; an
    exchange starts at each user message. A later system message (an earlier
    summary) starts a group of its own, so it can be dropped or summarized again.
    """
    groups: list[list[Message]] = []
    for message in messages:
        if message.role in ("user", "system") or not groups:
            groups.append([])
        groups[-1].append(message)
    return groups


def fit_conversation(
    conversation: list,
    template: ChatTemplate,
    *,
    budget: int,
    reserve: int = 0,
    summarize: Summarizer | None = None,
) -> list[Message]:
    """The messages to send: whole exchanges, newest kept, rendered length within
    ``budget - reserve`` (``reserve`` = tokens left for the model's reply).

    Raises ``BudgetError`` if even the system message plus the last exchange (plus
    a summary, with ``summarize``) cannot fit, or if a single message is larger
    than the whole budget.
    """
    messages = as_messages(conversation)
    if not messages:
        raise ValueError("the conversation is empty")
    room = budget - reserve
    if budget < 1 or reserve < 0 or room < 1:
        raise ValueError(f"need budget={budget} > reserve={reserve} >= 0")
    for i, message in enumerate(messages):
        size = len(template.render_message(message))
        if size > room:
            raise BudgetError(
                f"message {i} ({message.role}) alone is {size} tokens, over the "
                f"budget of {room} (budget {budget} - reserve {reserve})"
            )
    system = messages[:1] if messages[0].role == "system" else []
    groups = exchanges(messages[len(system) :])
    for start in range(len(groups)):
        kept = [m for group in groups[start:] for m in group]
        dropped = [m for group in groups[:start] for m in group]
        candidate = system + kept
        if dropped and summarize is not None:
            candidate = system + [_summary(summarize, dropped)] + kept
        if len(template.render(candidate)) <= room:
            return candidate
    last = len(template.render(candidate))
    raise BudgetError(
        f"the system message and the last exchange need {last} tokens, over the "
        f"budget of {room} (budget {budget} - reserve {reserve})"
    )


def _summary(summarize: Summarizer, dropped: list[Message]) -> Message:
    text = summarize(list(dropped))
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"summarize returned {text!r}; it must return non-empty text")
    return Message("system", text)
