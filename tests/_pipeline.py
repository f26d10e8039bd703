"""Tiny pipeline configurations over the stand-in methanol data, for end-to-end tests."""

from __future__ import annotations


def tiny_config(
    *, dft: tuple[int, int], cc_valid: int, structures: tuple[int, int], **sections
) -> dict:
    """A config overlay (on config.yaml and presets/embedded.yaml) for a tiny MD17 grid:
    methanol, one seed, ``dft`` = (n_train, n_valid) of the DFT pre-training, coupled-cluster
    training sets of 4 and 8 with ``cc_valid`` validation structures, ``structures`` = the
    sizes of the embedded DFT and CC data sets, two epochs of a 16x16 network; ``sections``
    are added (e.g. ``md=None`` turns the MD study off)."""
    return {
        "md17": {
            "molecules": ["methanol"],
            "dft": {"n_train": dft[0], "n_valid": dft[1]},
            "cc": {"train_sizes": [4, 8], "n_valid": cc_valid},
            "seeds": [0],
        },
        # steps: null undoes the preset's training by steps (presets/embedded.yaml)
        "training": {"epochs": 2, "steps": None, "batch_size": 8},
        "model": {"hidden": [16, 16]},
        "embedded_data": {
            "dft": {"n_structures": structures[0]},
            "cc": {"n_structures": structures[1]},
        },
        **sections,
    }
