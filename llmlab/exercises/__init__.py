"""Exercises with instant feedback: ``check("name", your_function)``.

Each chapter's checkers live in ``llmlab/exercises/chNN.py``.
"""

from llmlab.exercises._core import Exercise, all_exercises, check, exercise, question

__all__ = ["Exercise", "all_exercises", "check", "exercise", "question"]
