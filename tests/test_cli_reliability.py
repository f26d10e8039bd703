"""Issue 22, the library and CLI side, as a hostile user meets it: every case is refused
with exit code 2 and ONE line naming the file, member, group, option or value at fault
(no traceback).

* ensembles: one reader (gmnn.export.read_ensemble) verifies every member's checksums and
  that the members agree with each other and with ensemble.json, for ``md``, ``evaluate``,
  ``info``, ``finetune --pretrained`` and the ASE calculator; ``finetune`` checks the
  members and the parent's card before any training;
* MD start structures go through the one structure reader and the readers' checks
  (coincident atoms, NaN, a cell thinner than the cutoff, an isolated atom, unknown
  elements), the paper's Ala10 PDB is read with its carbons;
* labels: ``--loss EF`` on ANI data whose forces are missing in one group names the file
  and the group; wrong units are named;
* messages: options as typed (``--lr nn``, ``--cutoff`` with both values), a text file
  named .h5, energies that are not numbers, an output under a regular file, a log line
  when a training resumes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from _synthetic import emt_structures
from ase.io import write

from gmnn import units
from gmnn.cli import main
from gmnn.data import write_h5
from gmnn.export import export_ensemble
from gmnn.fingerprints import file_sha256
from gmnn.io import FileError, save_model

CARD = {"name": "tiny", "pretraining": {"data": "EMT", "level_of_theory": "EMT", "labels": "EF"}}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _model(path, species=(1, 6, 8), cutoff=5.0, seed=0):
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    model = GMNN(list(species), ModelConfig(hidden=(8,), n_radial=2, cutoff=cutoff), seed=seed)
    model.energy_scale.assign(0.02)
    return save_model(model, path)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("rel")
    data = emt_structures("CH3OH", n=12, seed=0)
    write_h5(data, d / "a.h5")
    write(d / "a.extxyz", data.to_ase())
    write(d / "start.xyz", data.atoms(0))
    for k, (species, cutoff) in enumerate([((1, 6, 8), 5.0), ((1, 6, 8), 5.0)]):
        _model(d / f"m{k}", species, cutoff, seed=k)
    _model(d / "cut4", cutoff=4.0, seed=2)
    _model(d / "chno", species=(1, 6, 7, 8), seed=3)
    export_ensemble([d / "m0", d / "m1"], d / "ens", CARD)
    return d


def _rehash(ens: Path, k: int) -> None:
    """Record member k's current files in ensemble.json (a consistent-looking forgery)."""
    meta = json.loads((ens / "ensemble.json").read_text())
    member = meta["members"][k]
    member["weights_sha256"] = file_sha256(ens / member["path"] / "weights.npz")
    member["model_json_sha256"] = file_sha256(ens / member["path"] / "model.json")
    (ens / "ensemble.json").write_text(json.dumps(meta))


def _swapped(d, tmp):
    ens = shutil.copytree(d / "ens", tmp / "swapped")
    a, b = ens / "member0" / "weights.npz", ens / "member1" / "weights.npz"
    a.rename(tmp / "w"), b.rename(a), (tmp / "w").rename(b)
    return ens, "member0/weights.npz: changed or damaged since export"


def _edited(d, tmp):
    ens = shutil.copytree(d / "ens", tmp / "edited")
    meta = json.loads((ens / "member1" / "model.json").read_text())
    meta["provenance"]["n_train"] = 999
    (ens / "member1" / "model.json").write_text(json.dumps(meta))
    return ens, "member1/model.json: changed or damaged since export"


def _mixed(d, tmp, source, key):
    ens = shutil.copytree(d / "ens", tmp / f"mixed_{key}")
    shutil.rmtree(ens / "member1")
    shutil.copytree(d / source, ens / "member1")
    _rehash(ens, 1)
    return ens, f"member1/model.json: member 1 has {key} = .*, but member 0 .* has {key} ="


def _stated(d, tmp):
    ens = shutil.copytree(d / "ens", tmp / "stated")
    meta = json.loads((ens / "ensemble.json").read_text())
    meta["cutoff"] = 6.0
    (ens / "ensemble.json").write_text(json.dumps(meta))
    return ens, r"ensemble.json: cutoff = 6.0, but its members .* have cutoff = 5.0"


def _unverifiable(d, tmp):
    ens = shutil.copytree(d / "ens", tmp / "unverifiable")
    meta = json.loads((ens / "ensemble.json").read_text())
    del meta["members"][0]["weights_sha256"]
    (ens / "ensemble.json").write_text(json.dumps(meta))
    return ens, r"ensemble.json: members\[0\] lacks its weights_sha256"


def _twice(d, tmp):
    ens = shutil.copytree(d / "ens", tmp / "twice")
    meta = json.loads((ens / "ensemble.json").read_text())
    meta["members"][1]["path"] = "member0"
    (ens / "ensemble.json").write_text(json.dumps(meta))
    return ens, r"members\[1\].path 'member0' is also members\[0\]"


BAD_ENSEMBLES = {
    "swapped weights": _swapped,
    "edited model.json": _edited,
    "mixed cutoffs": lambda d, t: _mixed(d, t, "cut4", "cutoff"),
    "mixed elements": lambda d, t: _mixed(d, t, "chno", "species"),
    "ensemble.json cutoff no member has": _stated,
    "member without checksum": _unverifiable,
    "one member twice": _twice,
}


@pytest.mark.parametrize("case", list(BAD_ENSEMBLES))
def test_a_bad_ensemble_is_refused_by_every_command(d, tmp_path, capsys, case):
    ens, match = BAD_ENSEMBLES[case](d, tmp_path)
    commands = {
        "evaluate": ["evaluate", "--model", ens, "--data", d / "a.h5"],
        "md": ["md", "--model", ens, "--structure", d / "start.xyz", "--steps", "2"]
        + ["--write-interval", "2", "--trajectory", tmp_path / "md.traj"],
        "info": ["info", ens],
        "finetune": ["finetune", "--pretrained", ens, "--data", d / "a.h5", "--n-valid", "2"]
        + ["--epochs", "1", "--loss", "E", "--no-progress", "--out", tmp_path / "ft"],
    }
    for name, argv in commands.items():
        code, out, err = run(capsys, *argv)
        line = one_line(err)
        assert code == 2, (name, err)
        assert line.startswith(f"gmnn {name}: error: {ens}"), line
        assert re.search(match, line), (name, line)
    assert not (tmp_path / "md.traj").exists()
    assert not (tmp_path / "ft").exists()  # refused before any training
    from gmnn.calculator import EnsembleCalculator

    with pytest.raises(FileError, match=match):
        EnsembleCalculator(ens)


def test_models_given_one_by_one_must_agree_for_md(d, tmp_path, capsys):
    argv = ["md", "--model", d / "m0", d / "cut4", "--structure", d / "start.xyz"]
    code, _, err = run(capsys, *argv, "--steps", "2", "--write-interval", "2")
    assert code == 2
    assert f"{d / 'cut4' / 'model.json'}: member 1 has cutoff = 4.0" in one_line(err)


def test_the_calculator_and_info_take_a_good_ensemble(d, capsys):
    from gmnn.calculator import EnsembleCalculator, GMNNCalculator

    assert len(EnsembleCalculator(d / "ens").models) == 2
    with pytest.raises(FileError, match="an exported ensemble"):
        GMNNCalculator(d / "ens")  # one model expected: never silently member 0
    code, out, _ = run(capsys, "info", d / "ens")
    assert code == 0
    shown = json.loads(out)
    assert [m["config"]["cutoff"] for m in shown["members"]] == [5.0, 5.0]
    assert shown["members"][1]["config"]["species"] == [1, 6, 8]


def test_finetune_checks_the_parents_card_before_training(d, tmp_path, capsys):
    ens = shutil.copytree(d / "ens", tmp_path / "nocard")
    card = json.loads((ens / "card.json").read_text())
    del card["data"]
    (ens / "card.json").write_text(json.dumps(card))
    argv = ["finetune", "--pretrained", ens, "--data", d / "a.h5", "--n-valid", "2"]
    argv += ["--epochs", "1", "--loss", "E", "--no-progress", "--out", tmp_path / "ft"]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert f"{ens / 'card.json'}: key 'data.pretraining'" in one_line(err)
    assert not (tmp_path / "ft").exists()
    argv[2] = d / "ens"  # a good parent, a bad name for the new card
    code, _, err = run(capsys, *argv, "--name", " ")
    assert code == 2 and "gmnn finetune: error: --name: must not be empty" == one_line(err)
    assert not (tmp_path / "ft").exists()


# ------------------------------------------------------------------ MD start structures


def _start(d, tmp, change):
    from ase.io import read

    atoms = read(d / "start.xyz")
    change(atoms)
    path = tmp / "bad.extxyz"
    write(path, atoms)
    return path


def _coincident(a):
    a.positions[1] = a.positions[0]


def _small_cell(a):
    a.cell, a.pbc = [2.0, 2.0, 2.0], True


def _far(a):
    a.positions[3] += [30.0, 0.0, 0.0]


def _nan(a):
    a.positions[2, 1] = np.nan


def _nitrogen(a):
    a.numbers[0] = 7


BAD_STARTS = {
    "coincident atoms": (_coincident, r"atoms too close in the structure: atom 0 .* atom 1"),
    "2 Å periodic cell": (_small_cell, r"cell is 2 Å wide .* less than the model's cutoff 5"),
    "atom 30 Å away": (_far, r"atom 3 \(H\) has no other atom within .* 5 Å .* 3\d\.\d+ Å away"),
    "NaN coordinate": (_nan, r"non-finite positions .* at atom 2"),
    "element the model lacks": (_nitrogen, r"element\(s\) N \(Z=7\) \(first: atom 0\)"),
}


@pytest.mark.parametrize("case", list(BAD_STARTS))
def test_a_broken_start_structure_is_refused_before_md(d, tmp_path, capsys, case):
    change, match = BAD_STARTS[case]
    path = _start(d, tmp_path, change)
    argv = ["md", "--model", d / "ens", "--structure", path, "--steps", "2"]
    argv += ["--write-interval", "2", "--trajectory", tmp_path / "md.traj"]
    code, _, err = run(capsys, *argv)
    line = one_line(err)
    assert code == 2
    assert line.startswith(f"gmnn md: error: {path}: "), line
    assert re.search(match, line), line
    assert not (tmp_path / "md.traj").exists()


def test_a_pdb_without_elements_is_read_by_the_pdb_convention(tmp_path, capsys):
    from gmnn.data import DataError, read_structure

    pdb = tmp_path / "x.pdb"
    pdb.write_text(
        "ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00  0.00\n"
        "ATOM      2  CA  ALA A   1       1.450   0.000   0.000  1.00  0.00\n"
        "HETATM    3 CA   CA  A   2       6.000   0.000   0.000  1.00  0.00\n"
        "ATOM      4  HT2 ALA A   1      -0.500   0.900   0.000  1.00  0.00\n"
    )
    assert read_structure(pdb).get_chemical_symbols() == ["N", "C", "Ca", "H"]
    pdb.write_text("ATOM      1  XX  ALA A   1       0.000   0.000   0.000  1.00  0.00\n")
    with pytest.raises(DataError, match=r"x.pdb: atom 1 'XX': no element column"):
        read_structure(pdb)


def test_the_papers_ala10_pdb_runs_md(shared_data, tmp_path, capsys):
    pdb = shared_data / "ala10" / "deca-ala_helix_104atoms.pdb"
    if not pdb.is_file():
        pytest.skip(f"{pdb} is not there (shared/data, see MANIFEST.md)")
    from gmnn.data import read_structure

    assert read_structure(pdb).get_chemical_formula() == "C30H53N11O10"
    _model(tmp_path / "chno", species=(1, 6, 7, 8))
    argv = ["md", "--model", tmp_path / "chno", "--structure", pdb, "--steps", "2"]
    code, _, err = run(capsys, *argv, "--write-interval", "2")
    assert code == 0, err
    # a model without nitrogen: the file and the element named
    _model(tmp_path / "cho", species=(1, 6, 8))
    argv[2] = tmp_path / "cho"
    code, _, err = run(capsys, *argv, "--write-interval", "2")
    assert code == 2
    assert f"{pdb}: element(s) N (Z=7) (first: atom 0)" in one_line(err)


# ------------------------------------------------------------------ labels and messages


def _partial_forces_ani(path):
    s = emt_structures("CH3OH", n=6, seed=1)
    symbols = {1: b"H", 6: b"C", 8: b"O"}
    with h5py.File(path, "w") as f:
        for g, name in enumerate(("a", "b")):
            part = s[3 * g : 3 * g + 3]
            n = int(part.n_atoms[0])
            leaf = f.create_group(f"mols/{name}")
            leaf["species"] = np.array([symbols[int(z)] for z in part.numbers[:n]])
            leaf["coordinates"] = part.positions.reshape(3, n, 3)
            leaf["energies"] = part.energy / units.HARTREE - 115.7  # methanol, Hartree
            if name == "a":
                leaf["forces"] = part.forces.reshape(3, n, 3) / units.HARTREE
    return path


def test_train_ef_on_forces_missing_in_one_group_names_file_and_group(d, tmp_path, capsys):
    path = _partial_forces_ani(tmp_path / "partial.h5")
    argv = ["train", "--data", path, "--n-train", "4", "--n-valid", "2", "--epochs", "1"]
    code, _, err = run(capsys, *argv, "--loss", "EF", "--no-progress", "--out", tmp_path / "t")
    assert code == 2
    line = [x for x in err.splitlines() if x.startswith("gmnn train: error:")]
    assert line and str(path) in line[0] and "/mols/b" in line[0], err
    assert "Traceback" not in err


def test_units_in_a_cli_read_are_named(d, tmp_path, capsys):
    s = emt_structures("CH3OH", n=4, seed=2)
    kcal = s.with_labels(energy=(s.energy - 115.7 * units.HARTREE) / units.KCAL_MOL)
    write(tmp_path / "kcal.extxyz", kcal.to_ase())
    code, _, err = run(capsys, "evaluate", "--model", d / "m0", "--data", tmp_path / "kcal.extxyz")
    assert code == 2
    assert "kcal.extxyz: structure 0: energy" in one_line(err) and "wrong unit" in err


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        (
            ["--cutoff", "0.1"],
            "--cutoff: must be above r_min 0.5 (the centre of the first Gaussian), got 0.1",
        ),
        (["--lr", "nn=-1"], "--lr nn: must be >= 0, got -1.0"),
    ],
)
def test_options_are_named_as_typed(d, tmp_path, capsys, extra, names):
    argv = ["train", "--data", d / "a.h5", "--n-train", "8", "--n-valid", "4", "--epochs", "1"]
    code, _, err = run(capsys, *argv, "--out", tmp_path / "t", *extra)
    assert code == 2
    assert one_line(err) == f"gmnn train: error: {names}" or names in one_line(err)


def test_files_at_fault_are_named(d, tmp_path, capsys):
    fake = tmp_path / "fake.h5"
    fake.write_text("not hdf5\n")
    code, _, err = run(capsys, "evaluate", "--model", d / "m0", "--data", fake)
    assert code == 2 and f"{fake}: not an HDF5 file, though named .h5" in one_line(err)
    bad = tmp_path / "bad.extxyz"
    text = (d / "a.extxyz").read_text().splitlines()
    text[1] = re.sub(r"energy=\S+", "energy=abc", text[1])
    bad.write_text("\n".join(text) + "\n")
    code, _, err = run(capsys, "evaluate", "--model", d / "m0", "--data", bad)
    assert code == 2 and f"{bad}: structure 0: energy 'abc' is not a number" in one_line(err)
    (tmp_path / "afile").write_text("x")
    argv = ["md", "--model", d / "m0", "--structure", d / "start.xyz", "--steps", "2"]
    argv += ["--write-interval", "2", "--checkpoint", tmp_path / "afile" / "md.ckpt.npz"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and f"--checkpoint {tmp_path / 'afile' / 'md.ckpt.npz'}" in one_line(err)
    assert "is a file, not a directory" in err


def test_scale_shift_without_energies_names_the_file():
    from gmnn.data import Structures
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    s = emt_structures("CH3OH", n=2, seed=0)
    bare = Structures(s.numbers, s.positions, s.n_atoms, meta={"source": "labels.extxyz"})
    model = GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2))
    with pytest.raises(ValueError, match="labels.extxyz: no energy labels, but the scale/shift"):
        model.init_scale_shift(bare)


def test_a_resumed_training_says_so(d, tmp_path, capsys):
    argv = ["train", "--data", d / "a.h5", "--n-train", "8", "--n-valid", "4", "--epochs", "1"]
    argv += ["--batch-size", "4", "--no-progress", "--hidden", "8", "--n-radial", "2"]
    argv += ["--out", tmp_path / "t"]
    assert run(capsys, *argv)[0] == 0
    code, _, err = run(capsys, *argv)
    assert code == 0
    assert "checkpoint" in err and ("resuming" in err or "finished already" in err), err


@pytest.mark.parametrize("keep", [0.5, 0.98, 0.05])
def test_a_truncated_trajectory_read_downstream_names_the_file(d, tmp_path, keep):
    from ase.io import Trajectory, read

    from gmnn.analysis.spectra import read_trajectory
    from gmnn.md.protocol import stage_start

    atoms = read(d / "start.xyz")
    atoms.set_momenta(np.full((len(atoms), 3), 0.01))
    with Trajectory(str(tmp_path / "md.traj"), "w") as traj:
        for _ in range(10):
            atoms.positions += 0.001
            traj.write(atoms)
    data = (tmp_path / "md.traj").read_bytes()
    cut = tmp_path / "cut.traj"
    cut.write_bytes(data[: int(len(data) * keep)])
    for reader in (stage_start, read_trajectory):  # the next Ala10 stage, the spectrum job
        with pytest.raises(FileError, match="truncated or damaged trajectory") as info:
            reader(cut)
        assert str(info.value).startswith(f"{cut}: ")
