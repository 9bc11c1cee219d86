"""Print the size of the llmlab package: lines of code per module and in total."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "llmlab"


def code_lines(path: Path) -> int:
    return sum(
        1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    )


def main() -> None:
    rows = sorted(
        (p.relative_to(PACKAGE.parent).as_posix(), code_lines(p))
        for p in PACKAGE.rglob("*.py")
    )
    for name, lines in rows:
        flag = "  <- over 400, consider splitting" if lines > 400 else ""
        print(f"{lines:6d}  {name}{flag}")
    print(f"{sum(n for _, n in rows):6d}  total ({len(rows)} modules)")


if __name__ == "__main__":
    main()
