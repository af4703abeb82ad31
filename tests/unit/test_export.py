import pytest
import torch

from seqattn.export import example_inputs, export_model, exported_suffix, load_exported
from seqattn.masks import valid_mask
from tests.conftest import tiny_model


@pytest.mark.parametrize("name, task", [("lstm", "next-value"), ("pooling", "classify"),
                                        ("transformer", "classify"), ("transformer", "next-value")])
def test_exported_program_matches_the_model(tmp_path, name, task):
    model = tiny_model(name, task)
    path = export_model(model, tmp_path / f"m{exported_suffix(model)}")
    program = load_exported(path)
    for batch, length in ((1, 5), (4, 17)):
        x, _ = example_inputs(model, batch, length)
        mask = valid_mask(torch.randint(3, length + 1, (batch,)), length)
        out = model(x, mask)
        prediction, attention = program(x, mask)
        torch.testing.assert_close(prediction, out.prediction, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(attention, out.attention, rtol=1e-5, atol=1e-6)


def test_wrong_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="exports to a .ts file"):
        export_model(tiny_model("lstm", "next-value"), tmp_path / "m.pt2")
