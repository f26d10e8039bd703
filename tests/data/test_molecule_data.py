"""The own-molecule data path (gmnn.refdata.molecules, workflow_scripts/molecule_*.py) on
tiny settings, and the embedded methanol regenerated through it: the same frames and
labels as the committed data/embedded/methanol_*.h5 for the first structures."""

from __future__ import annotations

import json
import runpy
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace

import ase.io
import numpy as np
import pytest
import yaml

from gmnn.data import DataError, read_h5
from gmnn.refdata import molecules, qc
from gmnn.units import BOHR, HARTREE

REPO = Path(__file__).resolve().parents[2]
needs_qc = pytest.mark.skipif(
    find_spec("tblite") is None or find_spec("pyscf") is None, reason="needs tblite and pyscf"
)

WATER = {
    "ase_molecule": "H2O",
    "sampling": {"temperature_K": [300, 400], "n_equil": 4, "stride": 2, "relax": False},
    "pretraining": {"method": "HF", "basis": "sto-3g", "n_structures": 3},
    "accurate": {"method": "MP2", "basis": "sto-3g", "n_structures": 2, "forces": False},
    "chunk_size": 2,
}

pytestmark = pytest.mark.usefixtures("one_pyscf_thread")  # tests/data/conftest.py


def run_script(name, **namespace):
    snakemake = SimpleNamespace(threads=1, rule=name, **namespace)
    runpy.run_path(
        str(REPO / "workflow_scripts" / f"{name}.py"), init_globals={"snakemake": snakemake}
    )


@needs_qc
def test_water_through_the_scripts(tmp_path):
    """sample -> label (chunks) -> merge for both levels, as rules/molecules.smk runs them."""
    spec = molecules.MoleculeSpec.from_config("water", WATER)
    params = SimpleNamespace(spec=spec.to_dict(), max_memory_mb=500)
    traj, frames = str(tmp_path / "trajectory.extxyz"), str(tmp_path / "frames.json")
    log = [str(tmp_path / "log.txt")]
    run_script(
        "molecule_sample",
        params=params,
        output=SimpleNamespace(trajectory=traj, frames=frames),
        log=log,
    )
    record = json.loads(Path(frames).read_text())
    assert record["frames"] == {"pretraining": [0, 2, 4], "accurate": [1, 3]}
    assert record["sampling"]["n_frames_per_temperature"] == [3, 2]
    assert record["start"]["source"] == "ase_molecule:H2O" and not record["start"]["relaxed"]
    assert "accurate level for k = 0, ..., n_accurate - 1" in record["frame_selection"]
    out = {}
    for level in ("pretraining", "accurate"):
        chunks = []
        for chunk in range(molecules.n_chunks(spec, level)):
            chunks.append(str(tmp_path / f"{level}{chunk}.npz"))
            run_script(
                "molecule_label",
                params=params,
                input=SimpleNamespace(trajectory=traj, frames=frames),
                output=[chunks[-1]],
                wildcards=SimpleNamespace(level=level, chunk=str(chunk)),
                log=log,
            )
        out[level] = str(tmp_path / f"{level}.h5")
        run_script(
            "molecule_merge",
            input=SimpleNamespace(frames=frames, chunks=chunks),
            output=[out[level]],
            wildcards=SimpleNamespace(level=level),
            log=log,
        )
    pre, acc = read_h5(out["pretraining"]), read_h5(out["accurate"])
    assert pre.ids.tolist() == [0, 2, 4] and pre.has_forces
    assert acc.ids.tolist() == [1, 3] and not acc.has_forces  # energies only
    cost = acc.meta["label_cost"]
    assert cost["label"] == "energy" and cost["frames"] == [1, 3] and len(cost["cpu_s"]) == 2
    assert pre.meta["label_cost"]["label"] == "energy and gradient"
    assert pre.meta["level_of_theory"] == "HF/sto-3g" and acc.meta["method"] == "MP2"
    assert pre.meta["start"]["numbers"] == [8, 1, 1]
    # the two temperatures' trajectories, seeded seed + k, are both in the frames
    trajectory = ase.io.read(traj, index=":")
    assert [a.info["temperature_K"] for a in trajectory] == [300, 300, 300, 400, 400]
    # an MP2 energy of frame 1 computed directly agrees (to the last bits: the BLAS
    # threads of this process, set by the tests before it, may sum in another order)
    energy, _, _ = qc.label_pyscf([trajectory[1]], "MP2", "sto-3g", forces=False)
    assert abs(acc.energy[0] - energy[0]) < 1e-9


def test_import_labels_converts_the_stated_units(tmp_path):
    import ase
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = ase.Atoms("OH2", positions=[[0, 0, 0.05], [0.02, 0.78, 0.55], [0, -0.74, 0.6]])
    forces = np.arange(9.0).reshape(3, 3) * 0.01
    atoms.calc = SinglePointCalculator(atoms, energy=-76.0, forces=forces)
    path = tmp_path / "orca.extxyz"
    ase.io.write(path, [atoms, atoms], format="extxyz")
    level = {"labels_file": str(path), "energy_unit": "Hartree", "force_unit": "Hartree/Bohr"}
    spec = molecules.MoleculeSpec.from_config(
        "water", {**WATER, "accurate": {**level, "method": "CCSD(T)", "basis": "cc-pVTZ"}}
    )
    data = molecules.import_labels(spec, "accurate", "accurate.h5")
    assert data.energy == pytest.approx([-76.0 * HARTREE] * 2)
    assert data.forces[:3] == pytest.approx(forces * HARTREE / BOHR)
    assert data.meta["original_energy_unit"] == "Hartree"
    assert data.meta["level_of_theory"] == "CCSD(T)/cc-pVTZ"

    # another molecule in the file: refused, naming the file and the frame
    other = molecules.MoleculeSpec.from_config(
        "methanol", {**WATER, "ase_molecule": "CH3OH", "accurate": level}
    )
    with pytest.raises(DataError, match=r"orca.extxyz: frame 0 has H2O, not the molecule's CH4O"):
        molecules.import_labels(other, "accurate")
    # no forces in the file while forces are asked for: the reader's own error
    ase.io.write(path, [ase.Atoms("OH2", positions=atoms.positions)], format="extxyz")
    with pytest.raises(DataError, match="orca.extxyz"):
        molecules.import_labels(spec, "accurate")


# ------------------------------------------------------------------ the embedded methanol


def committed(level):
    config = yaml.safe_load((REPO / "config.yaml").read_text())["embedded_data"]
    path = REPO / "data" / "embedded" / f"{config['molecule']}_{level}.h5"
    if not path.is_file():
        pytest.skip(f"{path} not generated")
    return config, read_h5(path)


@needs_qc
def test_embedded_methanol_through_the_new_path():
    """The first three frames (0, 2: DFT; 1: CC) sampled and labelled through the spec
    that embedded_data maps onto give the committed positions, energies and forces."""
    config, dft = committed("dft")
    _, cc = committed("cc")
    spec = molecules.MoleculeSpec.from_embedded_data(config)
    frames, record = molecules.sample(spec, n_frames=3)
    assert record["frames"]["dft"][:2] == [0, 2] and record["frames"]["cc"][:1] == [1]
    for key in ("sampling", "frame_selection"):  # what the committed files record
        assert record[key] == dft.meta[key]
    for data, ids in ((dft, [0, 2]), (cc, [1])):
        for frame in ids:
            stored = data.atoms(int(np.flatnonzero(data.ids == frame)[0]))
            assert np.allclose(stored.positions, frames[frame].positions, atol=1e-7)
    # one label of each level, through the chunk of the labelling rule
    for level, data in (("dft", dft), ("cc", cc)):
        record_one = {**record, "frames": {level: record["frames"][level][:1]}}
        atoms = molecules.chunk_atoms(frames, record_one, level, 0, spec.chunk_size)
        chunk = molecules.label_chunk(spec, level, atoms, n_threads=1)
        merged = qc.merge_chunks([chunk], record_one, level)
        stored = data.atoms(0)
        assert merged.energy[0] == pytest.approx(stored.get_potential_energy(), abs=1e-5)
        assert np.allclose(merged.forces, stored.get_forces(), atol=1e-4)
        for key in ("level_of_theory", "method", "basis", "frozen_core", "n_basis_functions"):
            assert merged.meta[key] == data.meta[key]
        assert len(merged.meta["label_cost"]["cpu_s"]) == 1
