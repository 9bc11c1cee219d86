"""Repository-wide pytest hooks: a per-notebook duration table after every run.

nbval reports one test item per notebook cell; this sums them per notebook, so CI
output shows how long each chapter takes to execute from a clean kernel.
"""

from __future__ import annotations

from collections import defaultdict

_notebook_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()


def pytest_runtest_logreport(report) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration
        if report.failed:
            _notebook_failed.add(path)


def pytest_terminal_summary(terminalreporter) -> None:
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook durations (clean kernel, all cells)")
    for path, seconds in sorted(_notebook_seconds.items()):
        status = "FAILED" if path in _notebook_failed else "ok"
        terminalreporter.write_line(f"{seconds:8.1f} s  {status:6}  {path}")
    total = sum(_notebook_seconds.values())
    terminalreporter.write_line(f"{total:8.1f} s  total")
