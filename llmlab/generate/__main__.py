"""``python -m llmlab.generate --help``: see ``llmlab.recipes.generate_cli``.

An entry point, so it may import the recipe layer above ``llmlab.generate``.
"""

from llmlab.recipes.generate_cli import main

if __name__ == "__main__":
    main()
