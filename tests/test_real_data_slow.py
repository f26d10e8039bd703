"""Slow checks on real data (run on purpose: ``pytest -m slow``).

Pre-train on rMD17 ethanol (PBE), then fine-tune on MD17 CCSD(T) ethanol with 64
energies only; fine-tuning must beat training from scratch on the same energies by a
wide margin in forces (paper, Fig. 2).  Uses ../shared/data; skipped without it.
"""

from __future__ import annotations

import pytest

from gmnn.analysis import error_metrics
from gmnn.data import make_split, read
from gmnn.train import TrainConfig, fit
from gmnn.transfer import finetune

pytestmark = pytest.mark.slow


def test_energy_only_finetuning_beats_scratch(tmp_path, shared_data):
    dft = read(shared_data / "rmd17" / "rmd17_ethanol_train_01.npz")
    cc = read(shared_data / "md17_ccsd" / "ethanol_ccsd_t-train-subset700.npz")
    s = make_split(len(dft), 500, 50, n_test=0, seed=0)
    fit(dft[s.train], dft[s.valid], tmp_path / "pre", TrainConfig(epochs=60, progress=False))
    c = make_split(len(cc), 64, 50, n_test=200, seed=0)
    train = cc[c.train].without_labels(forces=True)
    valid = cc[c.valid].without_labels(forces=True)
    cfg = TrainConfig(epochs=150, loss="E", progress=False)
    scratch = fit(train, valid, tmp_path / "scratch", cfg)
    tuned = finetune(tmp_path / "pre" / "model", train, valid, tmp_path / "ft", cfg)
    e_scratch = error_metrics(scratch, cc[c.test])
    e_tuned = error_metrics(tuned, cc[c.test])
    assert e_tuned["force_rmse"] < 0.5 * e_scratch["force_rmse"]
    assert e_tuned["energy_rmse"] < e_scratch["energy_rmse"]
