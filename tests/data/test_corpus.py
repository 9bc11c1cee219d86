from __future__ import annotations

from llmlab.data import read_text, stdlib_files


def test_stdlib_files_are_sorted_python_without_tests_or_tables() -> None:
    files = stdlib_files()
    assert len(files) > 100
    assert all(p.suffix == ".py" for p in files)
    names = {p.name for p in files}
    assert {"os.py", "json/__init__.py".split("/")[1]} <= names
    parts = {part for p in files for part in p.parts}
    assert not {"test", "encodings", "pydoc_data", "site-packages"} & parts
    assert not any(p.name.startswith("_sysconfigdata") for p in files)
    assert stdlib_files() == files


def test_stdlib_files_of_a_custom_root(tmp_path) -> None:
    for rel in ["b.py", "a/z.py", "a/test/t.py", "c.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    assert [p.relative_to(tmp_path).as_posix() for p in stdlib_files(tmp_path)] == [
        "a/z.py",
        "b.py",
    ]


def test_read_text_stops_after_whole_files(tmp_path) -> None:
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.py")
        paths[-1].write_text("a" * 10)
    assert read_text(paths) == ("a" * 10 + "\n\n") * 3
    assert read_text(paths, max_bytes=15) == ("a" * 10 + "\n\n") * 2
