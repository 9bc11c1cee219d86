"""Learner functions that go wrong, and the feedback ``check`` prints: one case
list, read by tests/test_troubleshooting.py and scripts/troubleshooting_page.py
(see tests/tokenizer/bad_inputs.py for the form of a case). ``run`` returns what
``check`` printed."""

from __future__ import annotations

import contextlib
import io

import torch

from llmlab.exercises import check

SECTION = "Exercise checks"
INTRO = (
    "What `check(name, fn)` prints in a chapter's exercise cell. It never raises for "
    "a wrong answer, so the notebook still runs to the end; it returns False."
)
NOTES = ""


def _printed(name: str, fn, **kwargs) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(name, fn, **kwargs)
    return out.getvalue().strip()


def log_softmax_forever(logits: torch.Tensor) -> torch.Tensor:
    while True:
        pass


def log_softmax_in_place(logits: torch.Tensor) -> torch.Tensor:
    logits.sub_(logits.max(-1, keepdim=True).values)
    return logits - logits.exp().sum(-1, keepdim=True).log()


def log_softmax_crashing(logits: torch.Tensor) -> torch.Tensor:
    return logits - logits.exp().sum(dim=2).log()


def _case(title: str, code: str, name: str, fn, match: str, **kwargs) -> dict:
    return {
        "title": title,
        "code": code,
        "run": lambda workdir: _printed(name, fn, **kwargs),
        "raises": None,
        "match": match,
    }


CASES = [
    _case(
        "An unfinished exercise (the stub still raises)",
        'check("log_softmax", log_softmax)  # raise NotImplementedError',
        "log_softmax",
        lambda logits: (_ for _ in ()).throw(NotImplementedError),
        "not done yet",
    ),
    _case(
        "A function that never returns",
        'check("log_softmax", log_softmax, timeout=0.2)  # while True: ...',
        "log_softmax",
        log_softmax_forever,
        "ran for more than 0.2 s",
        timeout=0.2,
    ),
    _case(
        "A function that returns nothing",
        'check("neighbour_overlap", neighbour_overlap)  # no return statement',
        "neighbour_overlap",
        lambda table_a, table_b, ids, k: None,
        "returned None \\(is a `return` missing\\?\\)",
    ),
    _case(
        "A function that returns a list where a tensor is expected",
        'check("log_softmax", log_softmax)  # return log_probs.tolist()',
        "log_softmax",
        lambda logits: torch.log_softmax(logits, -1).tolist(),
        "expected a tensor",
    ),
    _case(
        "A function that returns the wrong shape",
        'check("fold_norm", fold_norm)  # weight = linear.weight.T * gamma[:, None]',
        "fold_norm",
        lambda norm, linear: (linear.weight.T * norm.weight[:, None], linear.bias),
        "shape",
    ),
    _case(
        "A function that returns NaN",
        'check("log_softmax", log_softmax)  # log(exp(z) / sum): inf / inf',
        "log_softmax",
        lambda logits: (logits.exp() / logits.exp().sum(-1, keepdim=True)).log(),
        "not finite",
    ),
    _case(
        "A function that changes its input in place",
        'check("log_softmax", log_softmax)  # logits.sub_(...)',
        "log_softmax",
        log_softmax_in_place,
        "changed its argument `logits` in place",
    ),
    _case(
        "A function that crashes",
        'check("log_softmax", log_softmax)  # sum(dim=2) on a 1-D tensor',
        "log_softmax",
        log_softmax_crashing,
        "your function raised IndexError: .* \\(line \\d+: return logits - ",
    ),
]
