"""The ``llmlab`` console script: ``llmlab train ...`` (and more subcommands later).

Each subcommand is the same program as ``python -m llmlab.<package>``; this module
only picks which one runs from the first argument.
"""

from __future__ import annotations

import sys

COMMANDS = {
    "generate": "llmlab.recipes.generate_cli",
    "train": "llmlab.recipes.train_cli",
}


def main(argv: list[str] | None = None) -> int:
    import importlib

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        known = ", ".join(sorted(COMMANDS))
        print(f"usage: llmlab {{{known}}} [options]  (llmlab <command> --help)")
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"llmlab: unknown command {argv[0]!r}; known: {known}")
            return 2
        return 0
    module = importlib.import_module(COMMANDS[argv[0]])
    module.main(argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
