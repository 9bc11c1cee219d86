import subprocess
import sys

import pytest
import torch

from llmlab.generate import SamplingConfig, generate
from llmlab.recipes import generate_cli
from llmlab.recipes.cli import main as llmlab_main
from llmlab.tokenizer import ByteTokenizer
from llmlab.train import checkpoint as ckpt
from tests.generate.conftest import tiny_model


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory):
    model = tiny_model(vocab_size=256, context_length=64, scale=1.0)
    directory = tmp_path_factory.mktemp("tiny") / "checkpoint"
    ckpt.save(directory, model=model)
    return directory, model


def _expected(model, prompt, n, **sampling):
    ids = ByteTokenizer().encode(prompt)
    config = SamplingConfig(**sampling)
    g = torch.Generator().manual_seed(0)
    new = generate(model, [ids], max_new_tokens=n, sampling=config, generator=g)[0]
    return ByteTokenizer().decode(new)


def test_help_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "llmlab.generate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--temperature" in out.stdout and "--top-p" in out.stdout


def test_prompt_from_stdin_streams_the_generated_text(checkpoint_dir) -> None:
    directory, model = checkpoint_dir
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmlab.generate",
            str(directory),
            "--max-new-tokens",
            "12",
            "--temperature",
            "0.9",
            "--top-k",
            "40",
        ],
        input="def f(",
        capture_output=True,
        text=True,
        check=True,
    )
    want = _expected(model, "def f(", 12, temperature=0.9, top_k=40)
    assert out.stdout == want + "\n"


def test_greedy_prompt_flag_in_process(checkpoint_dir, capsys) -> None:
    directory, model = checkpoint_dir
    text = generate_cli.main(
        [
            str(directory),
            "--prompt",
            "import ",
            "--max-new-tokens",
            "9",
            "--temperature",
            "0",
            "--no-stream",
        ]
    )
    assert text == _expected(model, "import ", 9, temperature=0.0)
    assert capsys.readouterr().out == text + "\n"


def test_kernels_are_tuned_unless_told_not_to(checkpoint_dir, monkeypatch) -> None:
    directory, model = checkpoint_dir
    tuned = []
    real = generate_cli.tune_kernels
    monkeypatch.setattr(
        generate_cli,
        "tune_kernels",
        lambda m, **kw: tuned.append(kw) or real(m, repeats=1, **kw),
    )
    args = [str(directory), "--prompt", "import ", "--max-new-tokens", "9"]
    args += ["--temperature", "0", "--no-stream"]
    want = _expected(model, "import ", 9, temperature=0.0)
    assert generate_cli.main(args + ["--no-tune"]) == want and tuned == []
    assert generate_cli.main(args) == want and tuned == [{"batch_size": 1}]


def test_llmlab_console_script_knows_generate(checkpoint_dir, capsys) -> None:
    directory, model = checkpoint_dir
    assert (
        llmlab_main(
            [
                "generate",
                str(directory),
                "--prompt",
                "x",
                "--max-new-tokens",
                "3",
                "--temperature",
                "0",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == _expected(model, "x", 3, temperature=0.0) + "\n"


def test_bad_options_exit_with_a_message(checkpoint_dir) -> None:
    directory, _ = checkpoint_dir
    with pytest.raises(SystemExit, match="temperature=-1.0"):
        generate_cli.main([str(directory), "--prompt", "x", "--temperature", "-1"])
    with pytest.raises(SystemExit, match="neither a directory nor a zoo model"):
        generate_cli.main(["no-such-model", "--prompt", "x"])
    with pytest.raises(SystemExit, match="--device: unknown device 'gpu'"):
        generate_cli.main([str(directory), "--prompt", "x", "--device", "gpu"])
