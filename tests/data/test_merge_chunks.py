"""gmnn.refdata.qc.merge_chunks: the labelled chunks of one level -> one data set (no PySCF)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gmnn.data import read_h5
from gmnn.refdata.qc import merge_chunks

REPO = Path(__file__).resolve().parents[2]
FRAMES = {"cc": [1, 4, 6, 9, 12], "dft": [0, 2, 3]}
RECORD = {
    "molecule": "water",
    "frames": FRAMES,
    "sampling": {"temperature_K": 500},
    "code_versions": {"tblite": "0.4"},
    "frame_selection": "interleaved",
    "wall_s": 3.5,
}
INFO = {
    "method": "CCSD(T)",
    "basis": "6-31G",
    "xc": None,
    "frozen_core": True,
    "scf_conv_tol_hartree": 1e-10,
    "cc_conv_tol_hartree": 1e-8,
    "dft_grid_level": None,
    "code_versions": {"pyscf": "2.6"},
    "retries": [],
}


def make_chunk(frames, seed, failed=(), **info):
    """A chunk of water molecules as written by the embedded_label rule."""
    rng = np.random.default_rng(seed)
    n = len(frames)
    energy = rng.normal(size=n)
    forces = rng.normal(size=(3 * n, 3))
    for i in failed:
        energy[i] = np.nan
        forces[3 * i : 3 * i + 3] = np.nan
    chunk_info = {
        **INFO,
        "wall_s": [1.0 + seed] * n,
        "cpu_s": [2.0] * n,
        "n_frozen_orbitals": [1] * n,
        "n_basis": [13] * n,
        "failures": [{"frame": frames[i], "stage": "SCF"} for i in failed],
        **info,
    }
    return {
        "numbers": np.tile([8, 1, 1], n),
        "positions": rng.normal(size=(3 * n, 3)),
        "n_atoms": np.full(n, 3),
        "energy": energy,
        "forces": forces,
        "frames": np.array(frames),
        "info": np.array(json.dumps(chunk_info)),
    }


def test_merge_chunks_drops_failures_and_records_provenance(tmp_path):
    chunks = [make_chunk(FRAMES["cc"][:3], 0), make_chunk(FRAMES["cc"][3:], 1, failed=[0])]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / f"chunk{i}.npz")
        np.savez(paths[-1], **chunk)
    data = merge_chunks(paths, RECORD, "cc", source="water_cc.h5")
    assert len(data) == 4 and data.ids.tolist() == [1, 4, 6, 12]  # frame 9 failed
    np.testing.assert_array_equal(
        data.energy, np.concatenate([chunks[0]["energy"], chunks[1]["energy"][1:]])
    )
    np.testing.assert_array_equal(data.forces[-3:], chunks[1]["forces"][3:])
    np.testing.assert_array_equal(data.positions[:9], chunks[0]["positions"])
    meta = data.meta
    assert meta["source"] == "water_cc.h5" and meta["name"] == "water_cc"
    assert meta["level_of_theory"] == "CCSD(T)/6-31G (frozen core)"
    assert meta["dropped"] == [{"frame": 9, "stage": "SCF"}] and meta["n_chunks"] == 2
    assert meta["n_basis_functions"] == [13] and meta["n_frozen_orbitals"] == [1]
    assert meta["wall_time_s"] == {
        "sampling": 3.5,
        "labelling_sum": 7.0,
        "labelling_cpu_sum": 10.0,
        "labelling_mean_per_structure": 1.4,
        "labelling_max_per_structure": 2.0,
    }
    # the same from arrays in memory
    again = merge_chunks(chunks, RECORD, "cc", source="water_cc.h5")
    np.testing.assert_array_equal(again.positions, data.positions)
    assert again.meta == meta


def test_merge_chunks_refuses_inconsistent_chunks():
    good = make_chunk(FRAMES["cc"][:3], 0)
    with pytest.raises(ValueError, match="disagree on basis"):
        merge_chunks([good, make_chunk(FRAMES["cc"][3:], 1, basis="cc-pVDZ")], RECORD, "cc")
    with pytest.raises(ValueError, match="exactly the cc frames"):
        merge_chunks([good], RECORD, "cc")
    broken = make_chunk(FRAMES["cc"][3:], 1)
    broken["forces"][0, 0] = np.nan
    with pytest.raises(ValueError, match="finite energy with non-finite forces"):
        merge_chunks([good, broken], RECORD, "cc")
    with pytest.raises(ValueError, match="no chunks"):
        merge_chunks([], RECORD, "cc")


def test_embedded_merge_script(tmp_path):
    paths = []
    for i, frames in enumerate((FRAMES["dft"][:2], FRAMES["dft"][2:])):
        paths.append(str(tmp_path / f"chunk{i}.npz"))
        np.savez(paths[-1], **make_chunk(frames, i, method="PBE", xc="PBE", frozen_core=False))
    (tmp_path / "frames.json").write_text(json.dumps(RECORD))
    out = str(tmp_path / "water_dft.h5")
    snakemake = SimpleNamespace(
        input=SimpleNamespace(frames=str(tmp_path / "frames.json"), chunks=paths),
        output=[out],
        wildcards=SimpleNamespace(level="dft"),
        log=[str(tmp_path / "merge.log")],
    )
    runpy.run_path(
        str(REPO / "workflow_scripts" / "molecule_merge.py"), init_globals={"snakemake": snakemake}
    )
    data = read_h5(out)
    assert data.ids.tolist() == FRAMES["dft"]
    assert data.meta["level_of_theory"] == "PBE/6-31G" and data.meta["source"] == out
