"""seqattn: sequence models that return, and check, which time steps mattered.

>>> import seqattn
>>> p = seqattn.predict_next([2, 4, 6, 8, 10])
>>> round(p.prediction, 1)
12.0

Attributes are imported on first use, so ``import seqattn`` stays light for the CLI.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "load_pretrained": "api", "predict_next": "api", "detect": "api", "Prediction": "api",
    "load_model": "checkpoint", "save_checkpoint": "checkpoint",
    "DataConfig": "config", "SignalConfig": "config",
    "generate_dataset": "data", "generate_next_value": "data", "generate_signal": "data",
    "read_long": "data.io", "write_long": "data.io", "to_long": "data.io",
    "build_model": "models", "SeqOutput": "models", "LSTMWithAttention": "models",
    "AttentionPooling": "models", "SeqTransformer": "models",
    "train_model": "train", "TrainConfig": "train",
    "test_model": "metrics", "evaluate": "metrics",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'seqattn' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
