"""Tests of gmnn.data.peptide: the built Ala10 helix, the PDB reader and the heavy-atom RMSD."""

from __future__ import annotations

from pathlib import Path

import ase
import ase.io
import numpy as np
import pytest
from ase.neighborlist import natural_cutoffs, neighbor_list
from scipy.spatial.transform import Rotation

from gmnn.data import DataError
from gmnn.data.peptide import (
    ALA10_FORMULA,
    NAME_KEY,
    RESIDUE_KEY,
    _heavy_atoms,
    _rdkit_molecule,
    build_ala10_helix,
    heavy_atom_rmsd,
    read_ala10_pdb,
)
from gmnn.io import MissingFile

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
    i, j = neighbor_list("ij", helix, natural_cutoffs(helix, mult=1.1))
    assert len(i) // 2 == 103
    seen, todo = {0}, [0]
    while todo:
        k = todo.pop()
        for m in j[i == k]:
            if m not in seen:
                seen.add(int(m))
                todo.append(int(m))
    assert len(seen) == 104


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
