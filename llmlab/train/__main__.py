"""``python -m llmlab.train --help``: see ``llmlab.recipes.train_cli``.

An entry point, so it may import the recipe layer above ``llmlab.train``.
"""

from llmlab.recipes.train_cli import main

if __name__ == "__main__":
    main()
