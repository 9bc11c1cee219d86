"""decode accepts integer ids in the forms callers hold them, and refuses the rest
clearly (issue 14, item 16)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llmlab.tokenizer import ByteTokenizer
from llmlab.tokenizer.ids import as_id_list

IDS = [104, 105, 33]
ACCEPTED = {
    "list": IDS,
    "tuple": tuple(IDS),
    "generator": (i for i in IDS),
    "range": range(104, 106),
    "int64 tensor": torch.tensor(IDS),
    "int32 tensor": torch.tensor(IDS, dtype=torch.int32),
    "uint8 tensor": torch.tensor(IDS, dtype=torch.uint8),
    "strided tensor": torch.tensor([104, 0, 105, 0, 33])[::2],
    "numpy int array": np.array(IDS),
    "numpy uint16 array": np.array(IDS, dtype=np.uint16),
    "list of numpy ints": [np.int64(i) for i in IDS],
}


@pytest.mark.parametrize("ids", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_integer_ids_are_accepted(trained, ids) -> None:
    got = as_id_list(ids)
    assert all(type(i) is int for i in got)
    assert got == (IDS if len(got) == 3 else [104, 105])
    want = "hi!" if len(got) == 3 else "hi"
    assert ByteTokenizer().decode(got) == want
    assert trained.decode(got) == want


REFUSED = {
    "float in a list": ([104.0], "item 0 is 104.0 (float)"),
    "float 104.7": ([104, 104.7], "item 1 is 104.7 (float)"),
    "bool": ([True], "item 0 is True (bool)"),
    "None": ([None], "item 0 is None"),
    "str": ("hi", "got str 'hi'"),
    "bytes": (b"hi", "got bytes"),
    "dict": ({104: 1}, "got dict"),
    "set": ({104}, "got set"),
    "int": (104, "got int"),
    "float tensor": (torch.tensor([104.0]), "dtype torch.float32"),
    "bool tensor": (torch.tensor([True]), "dtype torch.bool"),
    "0-d tensor": (torch.tensor(104), "shape () (a single id: pass [t.item()])"),
    "2-D tensor": (torch.tensor([[104, 105]]), "shape (1, 2)"),
    "float array": (np.array([104.0]), "dtype float64"),
    "0-d array": (np.array(104), "shape ()"),
    "0-d tensor in a list": ([torch.tensor(104)], "item 0 is tensor"),
}


@pytest.mark.parametrize("ids, match", REFUSED.values(), ids=REFUSED.keys())
def test_other_inputs_are_refused_naming_them(trained, ids, match) -> None:
    for decode in (trained.decode, ByteTokenizer().decode, trained.decode_bytes):
        with pytest.raises(TypeError) as info:
            decode(ids)
        assert match in str(info.value)
