"""Data layer: generators, long-format files, torch loaders."""

from .families import FAMILIES, Family, register_family
from .generate import (
    NextValueData,
    SignalData,
    distractor_patterns,
    generate_box,
    generate_dataset,
    generate_hmm,
    generate_next_value,
    generate_signal,
    signal_pattern,
)

__all__ = [
    "FAMILIES",
    "Family",
    "NextValueData",
    "SignalData",
    "distractor_patterns",
    "generate_box",
    "generate_dataset",
    "generate_hmm",
    "generate_next_value",
    "generate_signal",
    "register_family",
    "signal_pattern",
]
