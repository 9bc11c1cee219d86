import json

import pytest

from llmlab.data import stdlib_files
from llmlab.generate import bits_per_byte, parse_rate, reference_samples
from llmlab.recipes import build_zoo, zoo
from tests.recipes.test_zoo import TINY


def test_build_zoo_builds_once_and_reports(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(zoo.ZOO, TINY.name, TINY)
    args = ["tiny-test", "--cache-dir", str(tmp_path), "--quiet"]
    build_zoo.main(args + ["--report", "--samples", "4"])
    result = json.loads(capsys.readouterr().out)
    assert result["name"] == "tiny-test" and result["cpu_s"] > 0
    for t in build_zoo.TEMPERATURES:
        assert result[f"parse_rate@T{t}"] in {0.0, 0.25, 0.5, 0.75, 1.0}
    # the report measures the held-out files: every val_every-th corpus file
    model, tokenizer = zoo.pretrained(TINY, cache_dir=tmp_path, progress=False)
    held_out = [p.read_text(encoding="utf-8") for p in stdlib_files()[:20:10]]
    want = bits_per_byte(model, tokenizer, held_out, separator_id=tokenizer.eot_id)
    assert result["bits_per_byte"] == pytest.approx(want, abs=1e-4)
    assert result["parse_rate@T0.8,min_p0.3"] in {0.0, 0.25, 0.5, 0.75, 1.0}
    room = model.config.context_length - len(tokenizer.encode("def ")) - 1
    real = reference_samples(tokenizer, held_out, n_tokens=room)  # 200 in the zoo
    assert result["held_out_defs"] == len(real) > 0
    assert result["parse_rate_of_held_out_code"] == round(parse_rate(real), 4)
    assert len(list((tmp_path / "zoo").iterdir())) == 1

    def no_training(*a, **k):
        raise AssertionError("built twice")

    monkeypatch.setattr(zoo, "fit", no_training)
    build_zoo.main(args)  # cached: loads, does not train
