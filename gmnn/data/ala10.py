"""The paper's deca-alanine (Ala10): its canonical atom order and names, the published PDB.

The molecule is the 104-atom Ala10 of the paper's embedded-ANI application, C30H53N11O10:
a neutral NH2 N-terminus, ten alanines and a C-terminal amide (-C(=O)NH2), as in the
CHARMM deca-alanine of ``shared/data/ala10/deca-ala_helix_104atoms.pdb``.

:func:`read_ala10_pdb` (and the builder :func:`gmnn.refdata.peptide.build_ala10_helix`,
through :func:`ala10_atoms`) return an :class:`ase.Atoms` (positions in Å, no cell,
``pbc=False``) in the same canonical atom order, carrying per-atom PDB-like names and
residue numbers in ASE's own PDB array keys, so that ``ase.io.write("x.pdb", atoms)``
writes them and analysis code can select atoms:

=================== ============ ==================================================
``atoms.arrays[]``  dtype        meaning
=================== ============ ==================================================
``"atomtypes"``     ``<U4``      atom name (:data:`NAME_KEY`), scheme below
``"residuenumbers"`` int64       residue number 1..10 (:data:`RESIDUE_KEY`)
``"residuenames"``  ``<U4``      ``"ALA"``
=================== ============ ==================================================

Name scheme (per residue, in this order): ``N``, N-terminal hydrogens ``H1``, ``H2``
(residue 1 only) or amide ``H``, ``CA``, ``HA``, ``CB``, ``HB1``..``HB3``, ``C``, ``O``;
residue 10 ends with the C-terminal amide nitrogen ``NT`` and its hydrogens ``HT1``,
``HT2``. CHARMM's names (``HN``, N-terminal ``HT1``..``HT3``) and the wwPDB ``NH2`` cap
residue are mapped onto it by :func:`read_ala10_pdb`. Equivalent hydrogens (the two
N-terminal or amide hydrogens, the three methyl hydrogens) are numbered in file order, so
only heavy atoms are comparable name by name (:func:`heavy_atom_rmsd`).
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from pathlib import Path

import ase
import numpy as np

from gmnn.analysis.structure import kabsch_rmsd
from gmnn.data.errors import DataError, check_data_file

__all__ = [
    "ALA10_FORMULA",
    "HEAVY_NAMES",
    "NAME_KEY",
    "N_RESIDUES",
    "RESIDUE_KEY",
    "ala10_atoms",
    "heavy_atom_rmsd",
    "read_ala10_pdb",
]

#: Hill formula of the paper's Ala10 (neutral NH2 N-terminus, C-terminal amide).
ALA10_FORMULA = "C30H53N11O10"
#: Number of alanine residues.
N_RESIDUES = 10
#: ``atoms.arrays`` key of the per-atom names (ASE's PDB reader/writer key).
NAME_KEY = "atomtypes"
#: ``atoms.arrays`` key of the per-atom residue numbers (ASE's PDB reader/writer key).
RESIDUE_KEY = "residuenumbers"
_RESNAME_KEY = "residuenames"

#: Canonical order of the names within a residue.
_ORDER = ("N", "H1", "H2", "H", "CA", "HA", "CB", "HB1", "HB2", "HB3", "C", "O")
_ORDER += ("NT", "HT1", "HT2")
#: Names of the heavy atoms of an alanine residue, in canonical order.
HEAVY_NAMES = ("N", "CA", "CB", "C", "O")


def _sort_key(residue: int, name: str) -> tuple[int, int]:
    return residue, _ORDER.index(name)


def ala10_atoms(records: list[tuple[int, str, str, np.ndarray]]) -> ase.Atoms:
    """``ase.Atoms`` in canonical order from ``(residue, name, element, xyz [Å])`` records."""
    records = sorted(records, key=lambda r: _sort_key(r[0], r[1]))
    atoms = ase.Atoms(
        symbols=[r[2] for r in records],
        positions=np.array([r[3] for r in records], dtype=float),
        pbc=False,
    )
    atoms.new_array(NAME_KEY, np.array([r[1] for r in records], dtype="<U4"))
    atoms.new_array(RESIDUE_KEY, np.array([r[0] for r in records], dtype=np.int64))
    atoms.new_array(_RESNAME_KEY, np.full(len(records), "ALA", dtype="<U4"))
    return atoms


# ------------------------------------------------------------------------------- reading

#: Names of hydrogens on the N-terminal nitrogen (CHARMM, wwPDB, Amber), first residue.
_NTERM_H = {"H", "HN", "H1", "H2", "H3", "HT1", "HT2", "HT3", "HN1", "HN2"}
#: C-terminal amide cap residues (wwPDB NH2, Amber NHE): names of the cap's hydrogens.
_CAP_RESIDUES = {"NH2", "NHE"}
_CAP_H = {"HN1", "HN2", "H1", "H2", "HT1", "HT2"}


def read_ala10_pdb(path: str | os.PathLike[str]) -> ase.Atoms:
    """Read the paper's Ala10 from a PDB file, with names mapped to this module's scheme.

    Parsed with Biopython's ``PDBParser`` (ASE's PDB reader takes the CHARMM name ``CA``
    without an element column for calcium). Accepted names: CHARMM (``HN``, N-terminal
    ``HT1``-``HT3``, C-terminal amide ``NT``/``HT1``/``HT2``) and wwPDB/Amber (``H``,
    N-terminal ``H1``-``H3``/``H2``/``H3``, cap residue ``NH2`` or ``NHE`` with ``N`` and
    ``HN1``/``HN2`` or ``H1``/``H2``, renumbered into the last alanine). Only the first
    model is read. Residue numbers are renumbered 1..10 in file order.

    Raises:
        MissingFile: ``path`` does not exist.
        DataError: unreadable PDB, unknown atom names, duplicate atoms, or a composition
            other than C30H53N11O10 (the message names the file and the atom at fault).
    """
    from Bio.PDB import PDBParser

    path = Path(path)
    check_data_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            structure = PDBParser(QUIET=True).get_structure("ala10", str(path))
        except Exception as err:  # Biopython raises several types for damaged files
            raise DataError(path, f"not a readable PDB file: {err}") from err
    models = list(structure)
    if not models:
        raise DataError(path, "no ATOM/HETATM records")
    residues = [res for chain in models[0] for res in chain]
    alanines = [res for res in residues if res.get_resname() not in _CAP_RESIDUES]
    if len(alanines) != N_RESIDUES:
        raise DataError(path, f"{len(alanines)} residues; expected {N_RESIDUES} alanines")
    records: list[tuple[int, str, str, np.ndarray]] = []
    for number, res in enumerate(residues, start=1):
        label = f"residue {res.get_resname()} {res.get_id()[1]}"
        cap = res.get_resname() in _CAP_RESIDUES
        if not cap and res.get_resname() != "ALA":
            raise DataError(path, f"{label}: not ALA (Ala10 expected)")
        number = min(number, N_RESIDUES)
        n_term: list[str] = []
        c_term: list[str] = []
        for atom in res:
            name = atom.get_name().strip().upper()
            where = f"{label}, atom {atom.get_serial_number()} {name!r}"
            if cap:
                if name in _CAP_H:
                    c_term.append(name)
                    continue
                mapped = "NT" if name == "N" else None
            elif number == 1 and name in _NTERM_H:
                n_term.append(name)
                continue
            elif number == N_RESIDUES and name in ("HT1", "HT2"):
                c_term.append(name)
                continue
            elif name in ("H", "HN"):
                mapped = "H"
            elif name in HEAVY_NAMES + ("HA", "HB1", "HB2", "HB3") or (
                number == N_RESIDUES and name == "NT"
            ):
                mapped = name
            else:
                mapped = None
            if mapped is None:
                raise DataError(path, f"{where}: unknown atom name for Ala10")
            element = (atom.element or "").strip().capitalize()
            expected = "H" if mapped.startswith("H") else mapped[0]
            if element and element != expected:
                raise DataError(path, f"{where}: element {element!r}; expected {expected!r}")
            records.append((number, mapped, expected, atom.get_coord().astype(float)))
        # Equivalent hydrogens: numbered in file order, which is the order of `res`.
        by_name = {a.get_name().strip().upper(): a for a in res}
        for k, name in enumerate(n_term):
            records.append((number, f"H{k + 1}", "H", by_name[name].get_coord().astype(float)))
        for k, name in enumerate(c_term):
            records.append((number, f"HT{k + 1}", "H", by_name[name].get_coord().astype(float)))
    keys = Counter((r, name) for r, name, _, _ in records)
    duplicates = sorted(key for key, count in keys.items() if count > 1)
    if duplicates:
        raise DataError(path, f"duplicate atoms (residue, name): {duplicates[:5]}")
    unknown = sorted({(r, name) for r, name, _, _ in records if name not in _ORDER})
    if unknown:
        raise DataError(path, f"too many terminal hydrogens (residue, name): {unknown}")
    atoms = ala10_atoms(records)
    if atoms.get_chemical_formula() != ALA10_FORMULA:
        raise DataError(
            path, f"composition {atoms.get_chemical_formula()}; expected {ALA10_FORMULA}"
        )
    return atoms


# --------------------------------------------------------------------------------- RMSD


def _heavy_positions(atoms: ase.Atoms, what: str) -> dict[tuple[int, str], np.ndarray]:
    for key in (NAME_KEY, RESIDUE_KEY):
        if key not in atoms.arrays:
            raise ValueError(
                f"heavy_atom_rmsd: {what} has no atoms.arrays[{key!r}] "
                "(use build_ala10_helix or read_ala10_pdb)"
            )
    positions = {}
    for z, name, residue, xyz in zip(
        atoms.numbers,
        atoms.arrays[NAME_KEY],
        atoms.arrays[RESIDUE_KEY],
        atoms.positions,
        strict=True,
    ):
        if z > 1:
            key = (int(residue), str(name))
            if key in positions:
                raise ValueError(f"heavy_atom_rmsd: {what} has atom {key} twice")
            positions[key] = xyz
    return positions


def heavy_atom_rmsd(a: ase.Atoms, b: ase.Atoms) -> float:
    """Heavy-atom RMSD in Å between ``a`` and ``b`` after optimal superposition.

    Heavy atoms (Z > 1) are matched by (residue number, atom name) from the arrays of
    :mod:`gmnn.data.ala10`; both must hold the same set. ``b`` is fitted onto ``a``
    with a proper rotation and a translation (Kabsch); periodic images are not considered,
    so make a solvated peptide whole first.

    Raises:
        ValueError: missing name/residue arrays, duplicate atoms, or different atom sets.
    """
    pa, pb = _heavy_positions(a, "first structure"), _heavy_positions(b, "second structure")
    if pa.keys() != pb.keys():
        only_a = sorted(pa.keys() - pb.keys())[:5]
        only_b = sorted(pb.keys() - pa.keys())[:5]
        raise ValueError(
            f"heavy_atom_rmsd: heavy atoms differ: only in first {only_a}, only in second {only_b}"
        )
    keys = sorted(pa)
    target = np.array([pa[k] for k in keys])
    mobile = np.array([pb[k] for k in keys])
    return float(kabsch_rmsd(target, mobile))
