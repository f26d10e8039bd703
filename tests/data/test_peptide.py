"""Tests of gmnn.refdata.peptide and gmnn.data.ala10: the built Ala10 helix, the PDB reader, the heavy-atom RMSD
and the GFN2-xTB relaxation."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import ase
import ase.io
import numpy as np
import pytest
from ase.constraints import FixAtoms
from ase.neighborlist import natural_cutoffs, neighbor_list
from scipy.spatial.transform import Rotation

from gmnn.data import DataError
from gmnn.data.ala10 import (
    ALA10_FORMULA,
    NAME_KEY,
    RESIDUE_KEY,
    heavy_atom_rmsd,
    read_ala10_pdb,
)
from gmnn.io import MissingFile
from gmnn.refdata.peptide import (
    _heavy_atoms,
    _rdkit_molecule,
    build_ala10_helix,
    build_capped_ala_helix,
    capped_ala_formula,
    embedded_ala10_helix,
    hbond_distances,
    helical_hbond_fraction,
    helix_hbond_pairs,
    relax_xtb,
)

HELIX_PDB = Path("ala10") / "deca-ala_helix_104atoms.pdb"


@pytest.fixture(scope="module")
def helix() -> ase.Atoms:
    return build_ala10_helix()


@pytest.fixture(scope="module")
def published(shared_data: Path) -> ase.Atoms:
    path = shared_data / HELIX_PDB
    if not path.is_file():
        pytest.skip(f"published Ala10 helix {path} not found (set GMNN_SHARED_DATA)")
    return read_ala10_pdb(path)


def _index(atoms: ase.Atoms) -> dict[tuple[int, str], int]:
    return {
        (int(r), str(n)): i
        for i, (r, n) in enumerate(
            zip(atoms.arrays[RESIDUE_KEY], atoms.arrays[NAME_KEY], strict=True)
        )
    }


def _phi_psi(atoms: ase.Atoms, residue: int) -> tuple[float, float]:
    """Backbone (φ, ψ) of ``residue`` in degrees, in (-180, 180]."""
    idx = _index(atoms)
    phi = atoms.get_dihedral(
        idx[(residue - 1, "C")], idx[(residue, "N")], idx[(residue, "CA")], idx[(residue, "C")]
    )
    following = idx[(residue + 1, "N")] if (residue + 1, "N") in idx else idx[(residue, "NT")]
    psi = atoms.get_dihedral(
        idx[(residue, "N")], idx[(residue, "CA")], idx[(residue, "C")], following
    )
    return (phi + 180.0) % 360.0 - 180.0, (psi + 180.0) % 360.0 - 180.0


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_composition_and_neutral_formula(helix):
    assert len(helix) == 104
    assert helix.get_chemical_formula() == ALA10_FORMULA == "C30H53N11O10"
    assert int(helix.numbers.sum()) % 2 == 0  # closed shell possible when neutral
    from rdkit import Chem
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    mol = _rdkit_molecule(_heavy_atoms(-57.0, -47.0, 180.0), relax_hydrogens=False)
    assert CalcMolFormula(mol) == "C30H53N11O10"
    assert Chem.GetFormalCharge(mol) == 0
    assert sum(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()) == 0


def test_no_clashes_and_one_connected_tree(helix):
    d = helix.get_all_distances()
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.9
    # Acyclic molecule: 104 atoms, 103 bonds within 1.1 x the sum of covalent radii, every atom reachable.
    assert _bond_graph(helix) == (103, 104)


def test_hydrogens_sit_on_their_named_heavy_atoms(helix):
    idx = _index(helix)
    parent = {"H1": "N", "H2": "N", "H": "N", "HA": "CA", "HT1": "NT", "HT2": "NT"}
    parent |= {f"HB{k}": "CB" for k in (1, 2, 3)}
    for (residue, name), i in idx.items():
        if helix.numbers[i] == 1:
            bond = helix.get_distance(i, idx[(residue, parent[name])])
            assert 0.98 < bond < 1.12, (residue, name, bond)


def test_names_and_residues_match_reader_atom_by_atom(helix, published):
    np.testing.assert_array_equal(helix.arrays[NAME_KEY], published.arrays[NAME_KEY])
    np.testing.assert_array_equal(helix.arrays[RESIDUE_KEY], published.arrays[RESIDUE_KEY])
    np.testing.assert_array_equal(helix.numbers, published.numbers)
    assert published.get_chemical_formula() == ALA10_FORMULA
    names = list(published.arrays[NAME_KEY])
    assert names[:3] == ["N", "H1", "H2"]  # CHARMM HT2/HT3 on the N-terminus
    assert names[-3:] == ["NT", "HT1", "HT2"]  # CHARMM C-terminal amide
    assert "HN" not in names and names.count("H") == 9


def test_published_structure_is_a_helix_as_documented(published):
    for residue in range(2, 10):
        phi, psi = _phi_psi(published, residue)
        assert -85.0 < phi < -30.0 and -70.0 < psi < -10.0, (residue, phi, psi)


@pytest.mark.parametrize(("phi", "psi"), [(-57.0, -47.0), (-49.0, -26.0)])
def test_backbone_dihedrals_are_the_ones_asked(phi, psi):
    atoms = build_ala10_helix(phi=phi, psi=psi)
    for residue in range(2, 10):
        got_phi, got_psi = _phi_psi(atoms, residue)
        assert _angle_diff(got_phi, phi) < 5.0, (residue, got_phi)
        assert _angle_diff(got_psi, psi) < 5.0, (residue, got_psi)
    idx = _index(atoms)
    omega = atoms.get_dihedral(idx[(4, "CA")], idx[(4, "C")], idx[(5, "N")], idx[(5, "CA")])
    assert _angle_diff(omega, 180.0) < 5.0


def test_helix_rmsd_to_published_below_1_angstrom(helix, published):
    rmsd = heavy_atom_rmsd(published, helix)
    print(f"heavy-atom RMSD built vs published Ala10 helix: {rmsd:.3f} Å")
    assert rmsd < 1.0


def test_extended_chain_is_far_from_the_helix(helix):
    extended = build_ala10_helix(phi=-120.0, psi=140.0, relax_hydrogens=False)
    assert heavy_atom_rmsd(helix, extended) > 3.0


def test_rmsd_ignores_rotation_translation_and_hydrogens(helix):
    moved = helix.copy()
    rotation = Rotation.from_euler("xyz", [40.0, -70.0, 125.0], degrees=True).as_matrix()
    moved.positions = helix.positions @ rotation.T + [3.0, -1.0, 7.5]
    moved.positions[moved.numbers == 1] += 0.5  # hydrogens are not compared
    assert heavy_atom_rmsd(helix, moved) < 1e-8


def test_pdb_round_trip_with_ase_writer(helix, tmp_path):
    path = tmp_path / "helix.pdb"
    ase.io.write(path, helix)
    back = read_ala10_pdb(path)
    np.testing.assert_array_equal(back.arrays[NAME_KEY], helix.arrays[NAME_KEY])
    np.testing.assert_allclose(back.positions, helix.positions, atol=1e-3)


def test_reader_errors_name_file_and_atom(helix, tmp_path):
    with pytest.raises(MissingFile):
        read_ala10_pdb(tmp_path / "absent.pdb")
    path = tmp_path / "helix.pdb"
    ase.io.write(path, helix)
    lines = path.read_text().splitlines()
    bad = [line.replace("  HA ALA     3", "  HX ALA     3") for line in lines]
    (tmp_path / "bad_name.pdb").write_text("\n".join(bad) + "\n")
    with pytest.raises(DataError, match=r"bad_name\.pdb: residue ALA 3, atom \d+ 'HX'"):
        read_ala10_pdb(tmp_path / "bad_name.pdb")
    short = [line for line in lines if " HB3 ALA     5" not in line]
    (tmp_path / "short.pdb").write_text("\n".join(short) + "\n")
    with pytest.raises(DataError, match=r"short\.pdb: composition C30H52N11O10"):
        read_ala10_pdb(tmp_path / "short.pdb")


def test_rmsd_errors(helix):
    bare = ase.Atoms(helix.numbers, helix.positions)
    with pytest.raises(ValueError, match="atomtypes"):
        heavy_atom_rmsd(helix, bare)
    fewer = helix[[i for i in range(len(helix)) if i != 5]]  # drops CB of residue 1
    with pytest.raises(ValueError, match=r"only in first \[\(1, 'CB'\)\]"):
        heavy_atom_rmsd(helix, fewer)
    with pytest.raises(ValueError, match="phi=nan"):
        build_ala10_helix(phi=float("nan"))


# ------------------------------------------------------------- capped oligo-alanine helices


def _bond_graph(atoms: ase.Atoms) -> tuple[int, int]:
    """(number of covalent bonds within 1.1 x the covalent radii, atoms reachable from 0)."""
    i, j = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=1.1))
    seen, todo = {0}, [0]
    while todo:
        k = todo.pop()
        for m in j[i == k]:
            if m not in seen:
                seen.add(int(m))
                todo.append(int(m))
    return len(i) // 2, len(seen)


@pytest.mark.parametrize("n", [1, 5, 6])
def test_capped_helix_chemistry(n):
    """Ace-(Ala)_n-NMe: formula, closed shell, one acyclic molecule, no clashes, caps named."""
    from rdkit import Chem
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    atoms = build_capped_ala_helix(n)
    assert atoms.get_chemical_formula() == capped_ala_formula(n)
    assert len(atoms) == 10 * n + 12
    mol = _rdkit_molecule(_heavy_atoms(-57.0, -47.0, 180.0, n, capped=True), False)
    assert CalcMolFormula(mol) == capped_ala_formula(n) and Chem.GetFormalCharge(mol) == 0
    # the acetyl cap is CH3-C(=O)-, the N-methylamide cap -NH-CH3, both on the chain
    assert mol.HasSubstructMatch(Chem.MolFromSmarts("[CH3]C(=O)N[CH1]"))
    assert mol.HasSubstructMatch(Chem.MolFromSmarts("[CH1]C(=O)[NH1][CH3]"))
    bonds, reachable = _bond_graph(atoms)
    assert bonds == len(atoms) - 1 and reachable == len(atoms)
    d = atoms.get_all_distances()
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.9
    heavy = atoms.numbers > 1
    assert d[np.ix_(heavy, heavy)][~np.eye(heavy.sum(), dtype=bool)].min() > 1.2
    names = list(zip(atoms.arrays[RESIDUE_KEY], atoms.arrays[NAME_KEY], strict=True))
    assert names[:6] == [(0, "CH3"), (0, "HH31"), (0, "HH32"), (0, "HH33"), (0, "C"), (0, "O")]
    assert names[-6:] == [(n + 1, x) for x in ("N", "H", "CH3", "HH31", "HH32", "HH33")]
    assert set(atoms.arrays["residuenames"]) == {"ACE", "ALA", "NME"}


def test_capped_ala1_is_ace_ala_nme():
    from gmnn.refdata.systems import build_system

    assert capped_ala_formula(1) == build_system("ace_ala_nme").get_chemical_formula()


@pytest.mark.parametrize("n", [4, 5, 6])
def test_capped_helix_holds_its_backbone_hydrogen_bonds(n):
    """Every C=O(i) ... H-N(i+4) of the built helix, caps included, at about 2 Å; no
    i -> i+4 contact in the extended chain."""
    atoms = build_capped_ala_helix(n)
    pairs = helix_hbond_pairs(atoms)
    assert len(pairs) == n - 2
    assert all(atoms.arrays[NAME_KEY][pairs[:, 0]] == "O")
    assert all(atoms.arrays[NAME_KEY][pairs[:, 1]] == "H")
    np.testing.assert_array_equal(
        atoms.arrays[RESIDUE_KEY][pairs[:, 1]] - atoms.arrays[RESIDUE_KEY][pairs[:, 0]], 4
    )
    distance = hbond_distances(atoms.positions, pairs)
    assert np.all((distance > 1.8) & (distance < 2.4)), distance
    extended = build_capped_ala_helix(n, phi=-150.0, psi=150.0)
    assert hbond_distances(extended.positions, pairs).min() > 6.0
    # many frames at once: one of two keeps a hydrogen bond below 2.5 Å
    frames = np.stack([atoms.positions, extended.positions])
    assert hbond_distances(frames, pairs).shape == (2, n - 2)
    assert helical_hbond_fraction(frames, pairs) == 0.5
    assert helical_hbond_fraction(frames, pairs, cutoff_A=1.5) == 0.0


def test_capped_helix_rejects_bad_lengths():
    with pytest.raises(ValueError, match="n_residues=0 must be >= 1"):
        build_capped_ala_helix(0)
    with pytest.raises(ValueError, match="not an integer"):
        build_capped_ala_helix(2.5)


# ---------------------------------------------------------------------- xTB relaxation

SUMMARY_KEYS = {
    "method",
    "optimizer",
    "fmax_requested_eV_A",
    "fmax_reached_eV_A",
    "max_steps",
    "steps",
    "converged",
    "energy_initial_eV",
    "energy_final_eV",
    "heavy_atom_rmsd_A",
}


@pytest.fixture
def tblite():
    return pytest.importorskip("tblite.ase", reason="tblite (GFN2-xTB) not installed")


def _max_force(atoms: ase.Atoms) -> float:
    from tblite.ase import TBLite

    probe = atoms.copy()
    probe.calc = TBLite(method="GFN2-xTB", verbosity=0)
    return float(np.linalg.norm(probe.get_forces(), axis=1).max())


def test_relax_xtb_few_steps_lowers_energy_and_force(tblite, helix, caplog):
    before = helix.positions.copy()
    with caplog.at_level(logging.WARNING, logger="gmnn.refdata.peptide"):
        relaxed, summary = relax_xtb(helix, fmax=0.05, steps=6)
    np.testing.assert_array_equal(helix.positions, before)  # input untouched
    assert relaxed is not helix and relaxed.calc is None
    np.testing.assert_array_equal(relaxed.arrays[NAME_KEY], helix.arrays[NAME_KEY])
    np.testing.assert_array_equal(relaxed.arrays[RESIDUE_KEY], helix.arrays[RESIDUE_KEY])
    np.testing.assert_array_equal(relaxed.numbers, helix.numbers)
    assert set(summary) == SUMMARY_KEYS
    json.dumps(summary)  # recordable as is
    assert summary["method"] == "GFN2-xTB" and summary["optimizer"] == "BFGS"
    assert summary["steps"] == summary["max_steps"] == 6
    assert summary["converged"] is False and summary["fmax_reached_eV_A"] > 0.05
    assert "not converged in 6 steps" in caplog.text
    # The built helix is an MMFF/ideal-geometry structure: BFGS lowers energy and forces.
    initial_force = _max_force(helix)
    assert summary["energy_final_eV"] < summary["energy_initial_eV"] - 0.05
    assert summary["fmax_reached_eV_A"] < initial_force
    # A fresh SCF (no restart from the previous step's density) agrees to ~1e-4 eV/Å.
    assert summary["fmax_reached_eV_A"] == pytest.approx(_max_force(relaxed), abs=2e-3)
    assert 0.0 < summary["heavy_atom_rmsd_A"] < 0.2
    assert summary["heavy_atom_rmsd_A"] == pytest.approx(heavy_atom_rmsd(helix, relaxed))


def test_relax_xtb_stops_when_fmax_is_met(tblite, helix, tmp_path):
    _, loose = relax_xtb(helix, fmax=1.0, steps=50, log=tmp_path / "bfgs.log")
    log_lines = (tmp_path / "bfgs.log").read_text().splitlines()
    assert log_lines[0].split()[:2] == ["Step", "Time"] and len(log_lines) == loose["steps"] + 2
    assert loose["converged"] is True and loose["fmax_reached_eV_A"] < 1.0
    assert 0 < loose["steps"] < 50
    # Already below fmax: no step is taken and the structure is returned unchanged.
    same, done = relax_xtb(helix, fmax=100.0, steps=0)
    assert done["converged"] is True and done["steps"] == 0
    np.testing.assert_array_equal(same.positions, helix.positions)
    assert done["energy_final_eV"] == done["energy_initial_eV"]
    assert done["heavy_atom_rmsd_A"] < 1e-6


def test_relax_xtb_rejects_bad_arguments(tblite, helix):
    with pytest.raises(ValueError, match="fmax=0"):
        relax_xtb(helix, fmax=0)
    with pytest.raises(ValueError, match="fmax=nan"):
        relax_xtb(helix, fmax=float("nan"))
    with pytest.raises(ValueError, match="steps=-1"):
        relax_xtb(helix, steps=-1)
    with pytest.raises(ValueError, match="steps=2.5"):
        relax_xtb(helix, steps=2.5)
    with pytest.raises(ValueError, match="empty"):
        relax_xtb(ase.Atoms())
    fixed = helix.copy()
    fixed.set_constraint(FixAtoms(indices=[0]))
    with pytest.raises(ValueError, match="constraints"):
        relax_xtb(fixed)
    with pytest.raises(ValueError, match=r"relax=False but relax options \['fmax'\]"):
        embedded_ala10_helix(relax=False, fmax=0.1)


@pytest.mark.slow  # ~40 BFGS steps, 13-30 s on one core
def test_embedded_helix_relaxes_and_stays_helical(tblite, helix, published):
    from gmnn.analysis.structure import backbone_dihedrals, backbone_indices, helical_fraction

    relaxed, record = embedded_ala10_helix()
    json.dumps(record)
    summary = record["relax"]
    assert record["formula"] == ALA10_FORMULA
    assert record["build"]["phi_deg"] == -57.0 and record["build"]["psi_deg"] == -47.0
    assert summary["converged"] is True and summary["fmax_reached_eV_A"] < 0.05
    assert summary["energy_final_eV"] < summary["energy_initial_eV"]
    np.testing.assert_array_equal(relaxed.arrays[NAME_KEY], published.arrays[NAME_KEY])
    built_vs_published = heavy_atom_rmsd(published, helix)
    relaxed_vs_published = heavy_atom_rmsd(published, relaxed)
    relaxed_vs_built = heavy_atom_rmsd(helix, relaxed)
    backbone = backbone_indices(relaxed.arrays[NAME_KEY], relaxed.arrays[RESIDUE_KEY])
    phi, psi = backbone_dihedrals(relaxed.positions, backbone)
    fraction = helical_fraction(phi[1:9], psi[1:9])
    print(
        f"GFN2-xTB relaxation: {summary['steps']} BFGS steps, "
        f"E {summary['energy_initial_eV']:.3f} -> {summary['energy_final_eV']:.3f} eV; "
        f"heavy-atom RMSD built/published {built_vs_published:.3f} Å, relaxed/published "
        f"{relaxed_vs_published:.3f} Å, relaxed/built {relaxed_vs_built:.3f} Å; "
        f"helical fraction (residues 2-9) {fraction:.2f}"
    )
    assert relaxed_vs_published < 1.0
    assert relaxed_vs_built == pytest.approx(summary["heavy_atom_rmsd_A"])
    assert relaxed_vs_built < 0.5
    assert fraction >= 0.8
    assert record["backbone"]["helical_fraction_residues_2_9"] == pytest.approx(fraction)
    assert record["backbone"]["phi_deg"][0] is None
    np.testing.assert_allclose(record["backbone"]["psi_deg"], psi, atol=1e-3)
