"""Recipes: what sits on top of the capability packages.

The model zoo (small pretrained models, trained on demand and cached) and the
command lines live here, one layer above ``llmlab.train``, ``llmlab.generate`` and
the rest, so that importing a capability package (``llmlab.train.schedule``, say)
loads nothing it does not need. Recipes may import any capability package; no
capability package imports a recipe.
"""

from llmlab.recipes.zoo import ZOO, ZooSpec, pretrained

__all__ = ["ZOO", "ZooSpec", "pretrained"]
