"""The chat template: a conversation of messages rendered as one token sequence.

A chat model still only reads a sequence of tokens. Each message becomes a role
token, its text, and an end token::

    <|system|> You are terse. <|end|> <|user|> Hi <|end|> <|assistant|> Hello <|end|>

The role and end markers are *special tokens* (``special.py``): each is one id that
no text can produce, so a user who types "<|assistant|>" gets ordinary text, never a
forged turn. ``with_chat_tokens`` returns a copy of a BPE tokenizer with the four
markers added after its last id. ``ChatTemplate.render`` turns messages into ids,
``parse`` turns ids back into the same messages (the round trip is exact), and
``roles`` / ``loss_mask`` say which tokens belong to which role: the mask that
supervised fine-tuning uses to learn only from the assistant's replies.

Differs from production templates (ChatML, Llama-2's ``[INST]``) in: no newlines or
BOS conventions, and only the three roles.

Taught in: chapters/09_context.ipynb (used again for supervised fine-tuning)
"""

from __future__ import annotations

from dataclasses import dataclass

from llmlab.tokenizer.bpe import BPETokenizer

ROLES = ("system", "user", "assistant")
CHAT_TOKENS = {role: f"<|{role}|>" for role in ROLES} | {"end": "<|end|>"}


@dataclass(frozen=True)
class Message:
    role: str
    """One of ROLES."""
    content: str
    """The message text (not empty)."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {ROLES}")
        if not isinstance(self.content, str):
            raise TypeError(f"content must be str, got {type(self.content).__name__}")
        if not self.content.strip():
            raise ValueError(f"empty {self.role} message: {self.content!r}")


def with_chat_tokens(tokenizer: BPETokenizer) -> BPETokenizer:
    """A copy of ``tokenizer`` with the role and end markers as special tokens."""
    present = [t for t in CHAT_TOKENS.values() if t in tokenizer.special_tokens]
    if present:
        raise ValueError(f"tokenizer already has chat tokens {present}")
    next_id = tokenizer.vocab_size
    added = {token: next_id + i for i, token in enumerate(CHAT_TOKENS.values())}
    return BPETokenizer(
        byte_ids=tokenizer.byte_ids,
        merges=tokenizer.merges,
        special_tokens={**tokenizer.special_tokens, **added},
        pattern=tokenizer.pattern,
    )


def as_messages(conversation: list) -> list[Message]:
    """Accept Message objects or {"role": ..., "content": ...} dicts."""
    messages = []
    for i, item in enumerate(conversation):
        if isinstance(item, Message):
            messages.append(item)
        elif isinstance(item, dict) and set(item) == {"role", "content"}:
            messages.append(Message(item["role"], item["content"]))
        else:
            raise TypeError(f"message {i} must be a Message or a role/content dict")
    return messages


class ChatTemplate:
    """Render conversations to ids and back for a tokenizer with chat tokens."""

    def __init__(self, tokenizer: BPETokenizer) -> None:
        missing = [t for t in CHAT_TOKENS.values() if t not in tokenizer.special_tokens]
        if missing:
            raise ValueError(
                f"tokenizer lacks chat tokens {missing}; add them with with_chat_tokens"
            )
        self.tokenizer = tokenizer
        self.ids = {k: tokenizer.special_tokens[t] for k, t in CHAT_TOKENS.items()}
        self._role_of = {self.ids[r]: r for r in ROLES}

    def render_message(self, message: Message) -> list[int]:
        """<|role|> text <|end|>; special-looking text stays ordinary text."""
        text = self.tokenizer.encode_ordinary(message.content)
        return [self.ids[message.role], *text, self.ids["end"]]

    def render(self, conversation: list, *, add_generation_prompt: bool = False):
        """Messages -> ids; optionally end with <|assistant|> for the reply."""
        ids = []
        for message in as_messages(conversation):
            ids += self.render_message(message)
        if add_generation_prompt:
            ids.append(self.ids["assistant"])
        return ids

    def roles(self, conversation: list) -> list[str]:
        """The role of every token of ``render(conversation)`` (markers included)."""
        out: list[str] = []
        for message in as_messages(conversation):
            out += [message.role] * len(self.render_message(message))
        return out

    def loss_mask(self, conversation: list) -> list[bool]:
        """True on the tokens a fine-tune learns from: each assistant reply's text and
        its <|end|> (so the model learns to stop), never the role marker."""
        mask: list[bool] = []
        for message in as_messages(conversation):
            n = len(self.render_message(message))
            learn = message.role == "assistant"
            mask += [False] + [learn] * (n - 1)
        return mask

    def parse(self, ids: list[int]) -> list[Message]:
        """Ids from ``render`` -> the messages; raises on a malformed sequence."""
        messages, i, end = [], 0, self.ids["end"]
        while i < len(ids):
            role = self._role_of.get(ids[i])
            if role is None:
                raise ValueError(f"expected a role token at index {i}, got id {ids[i]}")
            try:
                close = ids.index(end, i + 1)
            except ValueError:
                raise ValueError(f"the {role} turn at index {i} has no <|end|>")
            body = ids[i + 1 : close]
            stray = [t for t in body if t in self._role_of]
            if stray:
                raise ValueError(f"the {role} turn at index {i} contains a role token")
            text = self.tokenizer.decode(body, errors="strict")
            messages.append(Message(role, text))
            i = close + 1
        return messages
