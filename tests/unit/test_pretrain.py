import json

import torch

from seqattn.checkpoint import load_model
from seqattn.export import load_exported
from seqattn.pretrain import main


def test_fast_pretrain_writes_weights_config_and_an_equivalent_exported_program(tmp_path):
    assert main(["all", "--fast", "--out-dir", str(tmp_path / "w"), "--saved-dir", str(tmp_path / "s")]) == 0
    for name, suffix, x in (("next-value", ".ts", torch.tensor([[1.0, 2.5, 4.0, 5.0, 7.5]], dtype=torch.float64)),
                            ("signal", ".pt2", torch.randn(2, 40, 4))):
        info = json.loads((tmp_path / "w" / f"{name}.json").read_text())
        assert info["command"] == f"python -m seqattn.pretrain {name}" and info["metrics"]
        model = load_model(tmp_path / "w" / f"{name}.pt")
        program = load_exported(tmp_path / "s" / f"{name}{suffix}")
        mask = torch.ones(x.shape[:2], dtype=torch.bool)
        out = model(x, mask)
        prediction, attention = program(x, mask)
        torch.testing.assert_close(prediction, out.prediction)
        torch.testing.assert_close(attention, out.attention)
