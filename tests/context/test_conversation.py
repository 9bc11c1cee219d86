"""The conversation budget: whole turns, the system message kept, clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmlab.context import BudgetError, exchanges, fit_conversation
from llmlab.tokenizer import BPETokenizer
from llmlab.tokenizer.chat_template import ChatTemplate, Message, with_chat_tokens

BYTES = BPETokenizer(byte_ids=list(range(256)), merges=[], special_tokens={})
TEMPLATE = ChatTemplate(with_chat_tokens(BYTES))  # one token per byte: easy sizes


def chat(n: int) -> list[Message]:
    out = [Message("system", "be brief")]  # 8 bytes -> 10 tokens
    for i in range(n):
        out += [Message("user", f"question {i}"), Message("assistant", f"answer {i}")]
    return out


def test_drops_oldest_exchanges_whole_and_keeps_the_system_message() -> None:
    messages = chat(5)  # system 10 tokens; each exchange 12 + 10 = 22 tokens
    kept = fit_conversation(messages, TEMPLATE, budget=10 + 2 * 22, reserve=0)
    assert kept == messages[:1] + messages[-4:]
    kept = fit_conversation(messages, TEMPLATE, budget=10 + 2 * 22 + 5, reserve=6)
    assert kept == messages[:1] + messages[-2:]  # the reply's reserve costs a turn
    assert fit_conversation(messages, TEMPLATE, budget=1000) == messages


def test_summarize_replaces_dropped_turns_with_one_message() -> None:
    seen = []

    def summarize(dropped):
        seen.append(dropped)
        return f"{len(dropped)} earlier"

    messages = chat(5)
    kept = fit_conversation(messages, TEMPLATE, budget=80, summarize=summarize)
    assert kept[0] == messages[0]
    assert kept[1].role == "system" and kept[1].content.endswith("earlier")
    n_dropped = int(kept[1].content.split()[0])
    assert kept[2:] == messages[1 + n_dropped :]
    assert seen[-1] == messages[1 : 1 + n_dropped]
    assert len(TEMPLATE.render(kept)) <= 80
    # Fitting the result again keeps working: the old summary can itself be dropped.
    again = fit_conversation(
        kept + chat(1)[1:], TEMPLATE, budget=80, summarize=summarize
    )
    assert len(TEMPLATE.render(again)) <= 80


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 8), budget=st.integers(40, 300), reserve=st.integers(0, 20))
def test_budget_never_drops_the_system_message_or_splits_a_turn(n, budget, reserve):
    messages = chat(n)
    try:
        kept = fit_conversation(messages, TEMPLATE, budget=budget, reserve=reserve)
    except BudgetError:
        last = messages[:1] + messages[-2:]
        assert len(TEMPLATE.render(last)) > budget - reserve  # really did not fit
        return
    assert kept[0] == messages[0]
    assert len(TEMPLATE.render(kept)) <= budget - reserve
    tail = messages[len(messages) - len(kept) + 1 :]
    assert kept[1:] == tail  # a suffix of the conversation: nothing cut inside
    assert not kept[1:] or kept[1].role == "user"  # starts at a whole exchange


def test_bad_input_gets_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown role 'robot'"):
        fit_conversation([{"role": "robot", "content": "hi"}], TEMPLATE, budget=100)
    with pytest.raises(ValueError, match="empty user message"):
        fit_conversation([{"role": "user", "content": "  "}], TEMPLATE, budget=100)
    huge = [Message("system", "s"), Message("user", "x" * 500)]
    with pytest.raises(BudgetError, match=r"message 1 \(user\) alone is 502 tokens"):
        fit_conversation(huge, TEMPLATE, budget=100)
    with pytest.raises(BudgetError, match="system message and the last exchange"):
        fit_conversation(chat(1), TEMPLATE, budget=25)
    with pytest.raises(ValueError, match="empty"):
        fit_conversation([], TEMPLATE, budget=10)


def test_exchanges_group_a_user_message_with_its_replies() -> None:
    u, a = Message("user", "q"), Message("assistant", "a")
    assert exchanges([a, u, a, a, u]) == [[a], [u, a, a], [u]]
