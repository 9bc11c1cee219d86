"""``python -m llmlab.train --help``: see ``llmlab.train.cli``."""

from llmlab.train.cli import main

if __name__ == "__main__":
    main()
