"""The alignment task of chapters 13–16: write a short review of a topic, judged by
a hidden "human" whose taste we can measure exactly.

A prompt names a topic (``<user> film <assistant>``); a response is up to
``MAX_WORDS`` words from a 40-token vocabulary, closed by ``<end>``. The hidden
ground truth, ``true_score``, is what the simulated human likes:

- +1 for each *different* positive word, −1 for each negative word,
- +1 for mentioning the prompt's topic,
- −1 for every word that repeats an earlier one, and for every stray special token.

``label_pairs`` plays the human labeler: shown two responses, it prefers the one
with the higher true score (ties are dropped). The true score never enters
training; the chapters use it only to measure how good a policy really is. The
demonstrations (``sample_demonstrations``) are ordinary writing: a topic half the
time, mostly neutral words, never a repeated word, 3–6 words long. So the reward
model never sees a repeated word, and nothing teaches it that repetition is bad:
the opening a reward-hacking policy will find.

Everything is generated from an explicit ``torch.Generator``: nothing is
downloaded, and the same seed gives the same data.

Differs from real RLHF in: the vocabulary is tiny and the human is a formula, so
a policy's true quality is known exactly instead of estimated by more humans. The
chat layout is the task's own (four special tokens, ``render`` gives the role
mask), because ``llmlab.tokenizer.chat_template`` is built on a BPE tokenizer.

Taught in: chapters/13_sft.ipynb, chapters/14_reward_model.ipynb
"""

from __future__ import annotations

import torch

from llmlab.model import GPTConfig

SPECIALS = ("<pad>", "<user>", "<assistant>", "<end>")
TOPICS = ("film", "book", "song", "game", "meal", "park", "show", "trip")
POSITIVE = ("great", "fun", "lovely", "clever", "warm", "bright", "fresh", "superb")
NEGATIVE = ("dull", "bad", "slow", "bland", "awful", "cold", "messy", "weak")
NEUTRAL = (
    "the", "a", "was", "is", "very", "quite", "and", "but", "really", "so", "it", "this"
)  # fmt: skip
VOCAB = SPECIALS + TOPICS + POSITIVE + NEGATIVE + NEUTRAL
PAD, USER, ASSISTANT, END = range(4)
MAX_WORDS = 8
"""Longest response in words; a response has MAX_WORDS + 1 slots (with <end>)."""
PROMPT_LEN = 3
RESPONSE_LEN = MAX_WORDS + 1
SEQ_LEN = PROMPT_LEN + RESPONSE_LEN

MODEL_CONFIG = GPTConfig(
    vocab_size=len(VOCAB), context_length=SEQ_LEN, d_model=64, n_heads=4,
    n_layers=2, d_ff=256,
)  # fmt: skip
"""The architecture every model of the task uses (policy, reference, reward, value)."""

_ID = {word: i for i, word in enumerate(VOCAB)}
_TOPIC_IDS = torch.tensor([_ID[w] for w in TOPICS])
_GROUPS = {  # demonstrations draw each non-topic word from a group, by weight
    "neutral": (torch.tensor([_ID[w] for w in NEUTRAL]), 0.5),
    "positive": (torch.tensor([_ID[w] for w in POSITIVE]), 0.25),
    "negative": (torch.tensor([_ID[w] for w in NEGATIVE]), 0.25),
}


def encode(text: str) -> list[int]:
    """'<user> film <assistant>' -> [1, 4, 2]; unknown words raise a KeyError."""
    try:
        return [_ID[w] for w in text.split()]
    except KeyError as error:
        raise KeyError(f"{error.args[0]!r} is not in the task vocabulary") from None


def decode(ids: torch.Tensor | list[int]) -> str:
    """[1, 4, 2] -> '<user> film <assistant>'; padding is left out."""
    ids = ids.tolist() if isinstance(ids, torch.Tensor) else ids
    return " ".join(VOCAB[i] for i in ids if i != PAD)


def sample_prompts(n: int, *, generator: torch.Generator) -> torch.Tensor:
    """n prompts ``<user> topic <assistant>`` with random topics -> (n, PROMPT_LEN)."""
    topics = _TOPIC_IDS[torch.randint(len(TOPICS), (n,), generator=generator)]
    user, assistant = torch.full((n,), USER), torch.full((n,), ASSISTANT)
    return torch.stack([user, topics, assistant], dim=1)  # (n, 3)


def sample_demonstrations(
    prompts: torch.Tensor, *, generator: torch.Generator
) -> torch.Tensor:
    """One ordinary response per prompt -> (N, RESPONSE_LEN), <end> then padding.

    3–6 words without repetition: the topic with probability ½, the other words
    from the neutral / positive / negative groups with weights ½ / ¼ / ¼.
    """
    out = torch.full((len(prompts), RESPONSE_LEN), PAD)
    weights = torch.tensor([w for _, w in _GROUPS.values()])
    for row, prompt in enumerate(prompts):
        n = int(torch.randint(3, 7, (1,), generator=generator))
        words = [int(prompt[1])] if torch.rand(1, generator=generator) < 0.5 else []
        while len(words) < n:
            group = int(torch.multinomial(weights, 1, generator=generator))
            ids = list(_GROUPS.values())[group][0]
            word = int(ids[torch.randint(len(ids), (1,), generator=generator)])
            if word not in words:
                words.append(word)
        order = torch.randperm(n, generator=generator).tolist()
        out[row, :n] = torch.tensor([words[i] for i in order])
        out[row, n] = END
    return out


def response_length(responses: torch.Tensor) -> torch.Tensor:
    """(N, R) -> (N,) tokens up to and including the first <end> (R if none)."""
    R = responses.shape[1]
    is_end = responses == END
    first = torch.where(is_end.any(1), is_end.float().argmax(1), torch.tensor(R - 1))
    return first + 1


def true_score(prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """The hidden human's score of each response: (N, 3), (N, R) -> (N,) float.

    Example: '<user> film <assistant>' answered 'the film was great fun <end>'
    scores 1 (topic) + 2 (two positive words) = 3; 'great great <end>' scores 0.
    """
    lengths = response_length(responses).tolist()
    scores = []
    for prompt, response, n in zip(prompts.tolist(), responses.tolist(), lengths):
        words = [w for w in response[:n] if w != END]
        score, seen = 0.0, set()
        for w in words:
            if w in seen or w < len(SPECIALS):
                score -= 1  # a repeat, or a stray special token
            elif VOCAB[w] in POSITIVE:
                score += 1
            elif VOCAB[w] in NEGATIVE:
                score -= 1
            seen.add(w)
        scores.append(score + (1.0 if prompt[1] in seen else 0.0))
    return torch.tensor(scores)


def label_pairs(
    prompts: torch.Tensor, first: torch.Tensor, second: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The labeler: for each pair keep (prompt, chosen, rejected) by true score.

    Pairs whose true scores tie are dropped, as a labeler may refuse to choose.
    Returns (prompts (M, 3), chosen (M, R), rejected (M, R)) with M <= N.
    """
    a, b = true_score(prompts, first), true_score(prompts, second)
    keep = a != b
    first_wins = (a > b)[:, None]
    chosen = torch.where(first_wins, first, second)
    rejected = torch.where(first_wins, second, first)
    return prompts[keep], chosen[keep], rejected[keep]


def render(prompts: torch.Tensor, responses: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Chat layout: (N, 3) prompts + (N, R) responses -> (ids, response_mask), both
    (N, SEQ_LEN); the mask is True on the assistant's tokens up to its <end>."""
    ids = torch.cat([prompts, responses], dim=1)  # (N, P + R)
    slot = torch.arange(responses.shape[1])[None, :]  # (1, R)
    in_response = slot < response_length(responses)[:, None]  # (N, R)
    mask = torch.cat([torch.zeros_like(prompts, dtype=torch.bool), in_response], 1)
    is_prompt = torch.arange(ids.shape[1])[None, :] < prompts.shape[1]  # (1, T)
    # Whatever a policy wrote after its <end> is not part of the response.
    return torch.where(mask | is_prompt, ids, PAD), mask
