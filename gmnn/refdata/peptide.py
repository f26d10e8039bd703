"""The paper's deca-alanine (Ala10) built as an ideal α-helix, relaxed with GFN2-xTB.

:func:`build_ala10_helix` returns the 104-atom Ala10 (C30H53N11O10) in the canonical atom
order and with the per-atom names and residue numbers of :mod:`gmnn.data.ala10` (which
reads the published PDB, :func:`gmnn.data.ala10.read_ala10_pdb`).

:func:`relax_xtb` relaxes a structure on the GFN2-xTB surface (tblite, ASE's BFGS) and
reports what it reached; :func:`embedded_ala10_helix` is the embedded default's starting
structure, the ideal helix of :func:`build_ala10_helix` relaxed that way. Built with the
defaults it relaxes in about 40 BFGS steps (about 0.25 s per energy and forces call on one
core) and stays an α-helix (heavy-atom RMSD to the built helix about 0.1 Å).
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections import Counter
from typing import IO, Any

import ase
import numpy as np

from gmnn.analysis.structure import (
    backbone_dihedrals,
    backbone_indices,
    helical_fraction,
    kabsch_rmsd,
)
from gmnn.data.ala10 import (
    ALA10_FORMULA,
    HEAVY_NAMES,
    N_RESIDUES,
    NAME_KEY,
    RESIDUE_KEY,
    ala10_atoms,
)
from gmnn.refdata.qc import one_openmp_thread

__all__ = [
    "EMBEDDED_HELIX_BUILD",
    "build_ala10_helix",
    "build_capped_ala_helix",
    "capped_ala_formula",
    "embedded_ala10_helix",
    "hbond_distances",
    "helical_hbond_fraction",
    "helix_hbond_pairs",
    "relax_xtb",
]

_log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ building


def _heavy_atoms(
    phi: float, psi: float, omega: float, n_residues: int = N_RESIDUES, capped: bool = False
) -> list[tuple[int, str, str, np.ndarray]]:
    """Heavy atoms of an oligo-alanine from PeptideBuilder, as ``(residue, name, element, xyz)``.

    PeptideBuilder (Engh-Huber bond lengths and angles) builds a poly-alanine with every
    residue at (``phi``, ``psi``, ``omega``) in degrees. Uncapped (the paper's Ala10-NH2):
    ``n_residues + 1`` residues, the N of the last one becomes the amide nitrogen ``NT`` of
    residue ``n_residues`` (so its ψ is set too). ``capped`` (Ace-Ala_n-NMe):
    ``n_residues + 2`` residues; residue 0 keeps CA, C, O as the acetyl cap (``CH3``,
    ``C``, ``O``), residue ``n_residues + 1`` keeps N, CA as the N-methylamide cap (``N``,
    ``CH3``), so both caps sit on the helix too and their C=O and N-H take part in its
    i -> i+4 hydrogen bonds.
    """
    from PeptideBuilder import make_structure

    n = n_residues + (2 if capped else 1)
    structure = make_structure("A" * n, [phi] * (n - 1), [psi] * (n - 1), [omega] * (n - 1))
    residues = list(structure[0]["A"])
    records = []

    def xyz(residue, name):
        return residue[name].get_coord().astype(float)

    if capped:
        ace, residues, nme = residues[0], residues[1:-1], residues[-1]
        records += [(0, "CH3", "C", xyz(ace, "CA")), (0, "C", "C", xyz(ace, "C"))]
        records.append((0, "O", "O", xyz(ace, "O")))
    for number, residue in enumerate(residues[:n_residues], start=1):
        for name in HEAVY_NAMES:
            records.append((number, name, name[0], xyz(residue, name)))
    if capped:
        end = n_residues + 1
        records += [(end, "N", "N", xyz(nme, "N")), (end, "CH3", "C", xyz(nme, "CA"))]
    else:
        records.append((n_residues, "NT", "N", xyz(residues[n_residues], "N")))
    return records


def _hydrogen_name(heavy_residue: int, heavy_name: str, k: int, free_n_terminus: bool) -> str:
    """Name of the ``k``-th (0-based) hydrogen on heavy atom ``heavy_name``."""
    if heavy_name == "N":
        return f"H{k + 1}" if heavy_residue == 1 and free_n_terminus else "H"
    if heavy_name == "CA":
        return "HA"
    if heavy_name == "CB":
        return f"HB{k + 1}"
    if heavy_name == "NT":
        return f"HT{k + 1}"
    if heavy_name == "CH3":
        return f"HH3{k + 1}"
    raise AssertionError(f"no hydrogens expected on {heavy_name} of residue {heavy_residue}")


def _bonds(index: dict[tuple[int, str], int]) -> list[tuple[tuple[int, str], tuple[int, str], int]]:
    """Bonds (atom keys, bond order) of the heavy atoms of an (optionally capped) oligo-alanine."""
    ala = sorted({r for r, name in index if name == "CA"})
    bonds = []
    if (0, "CH3") in index:  # acetyl cap
        bonds += [((0, "CH3"), (0, "C"), 1), ((0, "C"), (0, "O"), 2), ((0, "C"), (1, "N"), 1)]
    for r in ala:
        bonds += [((r, "N"), (r, "CA"), 1), ((r, "CA"), (r, "CB"), 1), ((r, "CA"), (r, "C"), 1)]
        bonds.append(((r, "C"), (r, "O"), 2))
        following = (r + 1, "N") if (r + 1, "N") in index else (r, "NT")
        bonds.append(((r, "C"), following, 1))
    end = ala[-1] + 1
    if (end, "CH3") in index:  # N-methylamide cap
        bonds.append(((end, "N"), (end, "CH3"), 1))
    return bonds


def _rdkit_molecule(heavy: list[tuple[int, str, str, np.ndarray]], relax_hydrogens: bool):
    """RDKit molecule with explicit hydrogens from the heavy atoms (bonds set by hand).

    Bonds and bond orders are known from the sequence, so they are set explicitly (no
    perception from distances, :func:`_bonds`): N-CA, CA-CB, CA-C, C=O, C(i)-N(i+1), the
    C-terminal C-NT, and the caps' CH3-C(=O)-N(1) and C(n)-N-CH3; all formal charges zero
    (neutral termini). Hydrogens come from ``Chem.AddHs(addCoords=True)``; with
    ``relax_hydrogens`` they are then minimised with MMFF94 with every heavy atom fixed.
    Returns the molecule (atom ``i < len(heavy)`` is ``heavy[i]``).
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem
    from rdkit.Geometry import Point3D

    mol = Chem.RWMol()
    index = {}
    for i, (residue, name, element, _) in enumerate(heavy):
        atom = Chem.Atom(element)
        atom.SetFormalCharge(0)
        index[(residue, name)] = mol.AddAtom(atom)
        assert index[(residue, name)] == i
    order = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE}
    for a, b, bond_order in _bonds(index):
        mol.AddBond(index[a], index[b], order[bond_order])
    conformer = Chem.Conformer(len(heavy))
    for i, record in enumerate(heavy):
        conformer.SetAtomPosition(i, Point3D(*map(float, record[3])))
    mol.AddConformer(conformer, assignId=True)
    mol = mol.GetMol()
    Chem.SanitizeMol(mol)
    mol = Chem.AddHs(mol, addCoords=True)
    if relax_hydrogens:
        props = AllChem.MMFFGetMoleculeProperties(mol)
        if props is None:
            raise RuntimeError("RDKit has no MMFF94 parameters for the peptide")
        field = AllChem.MMFFGetMoleculeForceField(mol, props)
        for i in range(len(heavy)):
            field.AddFixedPoint(i)
        if field.Minimize(maxIts=5000) != 0:
            warnings.warn("MMFF hydrogen relaxation of the peptide did not converge", stacklevel=3)
    return mol


def _records(
    phi: float, psi: float, omega: float, relax_hydrogens: bool, n_residues: int, capped: bool
) -> list[tuple[int, str, str, np.ndarray]]:
    """``(residue, name, element, xyz)`` of every atom: heavy atoms, then the hydrogens."""
    for label, value in (("phi", phi), ("psi", psi), ("omega", omega)):
        if not np.isfinite(value):
            raise ValueError(f"helix builder: {label}={value!r} is not a finite angle")
    heavy = _heavy_atoms(float(phi), float(psi), float(omega), n_residues, capped)
    mol = _rdkit_molecule(heavy, relax_hydrogens)
    xyz = mol.GetConformer().GetPositions()
    records = [(r, name, el, xyz[i]) for i, (r, name, el, _) in enumerate(heavy)]
    seen: Counter[int] = Counter()
    for atom in list(mol.GetAtoms())[len(heavy) :]:
        (neighbour,) = atom.GetNeighbors()
        residue, heavy_name = heavy[neighbour.GetIdx()][:2]
        k = seen[neighbour.GetIdx()]
        seen[neighbour.GetIdx()] += 1
        name = _hydrogen_name(residue, heavy_name, k, free_n_terminus=not capped)
        records.append((residue, name, "H", xyz[atom.GetIdx()]))
    return records


def build_ala10_helix(
    phi: float = -57.0, psi: float = -47.0, omega: float = 180.0, relax_hydrogens: bool = True
) -> ase.Atoms:
    """The paper's 104-atom Ala10 (C30H53N11O10) as an ideal helix with uniform dihedrals.

    Heavy atoms from PeptideBuilder (ideal Engh-Huber geometry, every residue at the given
    backbone dihedrals; φ of residue 1 is undefined, ψ of residue 10 is N-CA-C-NT), hydrogens
    from RDKit (``Chem.AddHs(addCoords=True)`` on a molecule with explicit bonds, bond
    orders and zero formal charges). With ``relax_hydrogens`` (default) the hydrogens only
    are then minimised with RDKit's MMFF94 (heavy atoms fixed, so the dihedrals are kept);
    the result is a starting structure, not a quantum-chemical minimum.

    Args:
        phi: backbone dihedral C(i-1)-N-CA-C in degrees (α-helix: -57).
        psi: backbone dihedral N-CA-C-N(i+1) in degrees (α-helix: -47).
        omega: peptide-bond dihedral CA(i)-C(i)-N(i+1)-CA(i+1) in degrees (trans: 180).
        relax_hydrogens: minimise the hydrogen positions with MMFF94.

    Returns:
        ``ase.Atoms`` (Å, no cell) in canonical order with the name/residue arrays of
        :mod:`gmnn.data.ala10`.
    """
    records = _records(phi, psi, omega, relax_hydrogens, N_RESIDUES, capped=False)
    atoms = ala10_atoms(records)
    if atoms.get_chemical_formula() != ALA10_FORMULA:
        raise RuntimeError(f"built Ala10 is {atoms.get_chemical_formula()}, not {ALA10_FORMULA}")
    return atoms


#: Order of the atom names within a residue of a capped oligo-alanine (Amber-like names:
#: the caps' methyl carbon ``CH3`` with hydrogens ``HH31``-``HH33``).
_CAPPED_ORDER = ("N", "H", "CH3", "HH31", "HH32", "HH33", "CA", "HA", "CB")
_CAPPED_ORDER += ("HB1", "HB2", "HB3", "C", "O")


def capped_ala_formula(n_residues: int) -> str:
    """Hill formula of Ace-Ala_n-NMe: C(3n+3) H(5n+7) N(n+1) O(n+1)."""
    n = int(n_residues)
    return f"C{3 * n + 3}H{5 * n + 7}N{n + 1}O{n + 1}"


def build_capped_ala_helix(
    n_residues: int,
    phi: float = -57.0,
    psi: float = -47.0,
    omega: float = 180.0,
    relax_hydrogens: bool = True,
) -> ase.Atoms:
    """Ace-(Ala)_n-NMe as an ideal helix, built as :func:`build_ala10_helix` builds Ala10.

    Heavy atoms from PeptideBuilder with every residue, caps included, at the given
    backbone dihedrals (default α-helix), hydrogens from RDKit on explicit bonds, then
    (``relax_hydrogens``) MMFF94 on the hydrogens only. The acetyl C=O (residue 0) and the
    N-methylamide N-H (residue ``n + 1``) are on the helix, so it holds the ``n - 2``
    backbone hydrogen bonds C=O(i) ... H-N(i+4), i = 0 .. n - 3 (:func:`helix_hbond_pairs`).

    Returns:
        ``ase.Atoms`` (Å, no cell) in residue order (0: ``ACE``, 1..n: ``ALA``, n + 1:
        ``NME``), with the names and residue numbers in ``arrays`` as in
        :mod:`gmnn.data.ala10` (:data:`~gmnn.data.ala10.NAME_KEY`,
        :data:`~gmnn.data.ala10.RESIDUE_KEY`, ``"residuenames"``).
    """
    if isinstance(n_residues, bool) or not isinstance(n_residues, (int, np.integer)):
        raise ValueError(f"build_capped_ala_helix: n_residues={n_residues!r} is not an integer")
    if n_residues < 1:
        raise ValueError(f"build_capped_ala_helix: n_residues={n_residues} must be >= 1")
    records = _records(phi, psi, omega, relax_hydrogens, int(n_residues), capped=True)
    records.sort(key=lambda r: (r[0], _CAPPED_ORDER.index(r[1])))
    atoms = ase.Atoms(
        symbols=[r[2] for r in records], positions=np.array([r[3] for r in records]), pbc=False
    )
    residue = np.array([r[0] for r in records], dtype=np.int64)
    resname = np.where(residue == 0, "ACE", np.where(residue > n_residues, "NME", "ALA"))
    atoms.new_array(NAME_KEY, np.array([r[1] for r in records], dtype="<U4"))
    atoms.new_array(RESIDUE_KEY, residue)
    atoms.new_array("residuenames", resname.astype("<U4"))
    formula = capped_ala_formula(n_residues)
    if atoms.get_chemical_formula() != formula:
        raise RuntimeError(f"built Ace-Ala{n_residues}-NMe is {atoms.get_chemical_formula()}")
    return atoms


def helix_hbond_pairs(atoms: ase.Atoms) -> np.ndarray:
    """``(k, 2)`` atom indices ``(O, H)`` of the α-helical hydrogen bonds C=O(i) ... H-N(i+4)
    of a named peptide (:func:`build_capped_ala_helix`; the amide H is named ``H``)."""
    index = {
        (int(r), str(n)): i
        for i, (r, n) in enumerate(
            zip(atoms.arrays[RESIDUE_KEY], atoms.arrays[NAME_KEY], strict=True)
        )
    }
    pairs = [
        (i, index[(r + 4, "H")])
        for (r, name), i in index.items()
        if name == "O" and (r + 4, "H") in index
    ]
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def hbond_distances(positions: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """O ... H distances (Å) of ``pairs`` in one (N, 3) or many (F, N, 3) structures."""
    positions = np.asarray(positions, dtype=float)
    return np.linalg.norm(positions[..., pairs[:, 0], :] - positions[..., pairs[:, 1], :], axis=-1)


def helical_hbond_fraction(
    positions: np.ndarray, pairs: np.ndarray, cutoff_A: float = 2.5
) -> float:
    """Fraction of the frames (F, N, 3) that keep at least one of the hydrogen bonds
    ``pairs`` (:func:`helix_hbond_pairs`) with O ... H below ``cutoff_A`` Å."""
    distances = hbond_distances(
        np.asarray(positions, dtype=float).reshape(-1, *np.shape(positions)[-2:]), pairs
    )
    return float(np.mean((distances < cutoff_A).any(axis=1)))


# --------------------------------------------------------------------------- relaxation

#: Settings of :func:`build_ala10_helix` for the embedded default (ideal right-handed
#: α-helix, trans peptide bonds, MMFF94-placed hydrogens); angles in degrees.
EMBEDDED_HELIX_BUILD = {"phi": -57.0, "psi": -47.0, "omega": 180.0, "relax_hydrogens": True}


def relax_xtb(
    atoms: ase.Atoms,
    fmax: float = 0.05,
    steps: int = 500,
    method: str = "GFN2-xTB",
    log: str | os.PathLike[str] | IO[str] | None = None,
) -> tuple[ase.Atoms, dict[str, Any]]:
    """Relax every atom of ``atoms`` on the xTB surface (tblite) with ASE's BFGS.

    The calculator is tblite's ASE calculator, ``TBLite(method=method, verbosity=0)``, as
    in :func:`gmnn.refdata.systems.relax_xtb` and :func:`gmnn.refdata.qc.sample_xtb_md`; charge
    and spin come from the initial charges and magnetic moments of ``atoms`` (neutral
    singlet by default). tblite runs on one OpenMP thread, so the result is bitwise
    reproducible for one tblite build. The optimisation stops when the largest per-atom
    force norm is below ``fmax`` (ASE's criterion) or after ``steps`` BFGS steps; not
    converging is not an error: it is recorded (``converged`` False) and logged as a
    warning.

    Args:
        atoms: the structure (positions in Å); not modified. It must have no constraints
            (all atoms are relaxed). Per-atom arrays (e.g. the names and residue numbers
            of :mod:`gmnn.data.ala10`), ``info``, cell and ``pbc`` are kept in the copy.
        fmax: convergence threshold on the largest per-atom force norm, eV/Å (> 0).
        steps: maximum number of BFGS steps (>= 0).
        method: tblite Hamiltonian (``"GFN2-xTB"``, ``"GFN1-xTB"`` or ``"IPEA1-xTB"``).
        log: the optimizer's step log: ``None`` (none), ``"-"`` (stdout), a path or an
            open text file (ASE's ``logfile``).

    Returns:
        ``(relaxed, summary)``: a relaxed copy of ``atoms`` without calculator, and a
        JSON-serialisable dict with ``method``, ``optimizer`` (``"BFGS"``),
        ``fmax_requested_eV_A``, ``fmax_reached_eV_A`` (largest per-atom force norm of the
        returned structure), ``max_steps``, ``steps`` (BFGS steps taken), ``converged``,
        ``energy_initial_eV``, ``energy_final_eV`` (total xTB energies) and
        ``heavy_atom_rmsd_A`` (Kabsch RMSD of the atoms with Z > 1 between input and
        relaxed structure, atoms matched by index; ``None`` if there are none).

    Raises:
        ValueError: empty ``atoms``, constraints present, ``fmax`` not a positive finite
            number or ``steps`` not a non-negative integer.
        RuntimeError: tblite failed (the message names the method, formula and step).
    """
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    if len(atoms) == 0:
        raise ValueError("relax_xtb: atoms is empty")
    if atoms.constraints:
        raise ValueError(
            f"relax_xtb: atoms has constraints {atoms.constraints}; it relaxes all atoms, "
            "remove them (atoms.set_constraint())"
        )
    if isinstance(fmax, bool) or not (np.isfinite(fmax) and fmax > 0):
        raise ValueError(f"relax_xtb: fmax={fmax!r} eV/Å must be a positive finite number")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"relax_xtb: steps={steps!r} must be a non-negative integer")

    formula = atoms.get_chemical_formula()
    relaxed = atoms.copy()
    relaxed.calc = TBLite(method=method, verbosity=0)
    optimizer = None
    start = time.perf_counter()
    try:
        with one_openmp_thread():
            energy_initial = float(relaxed.get_potential_energy())
            optimizer = BFGS(relaxed, logfile=log)
            with optimizer:  # closes a log file opened from a path
                converged = bool(optimizer.run(fmax=float(fmax), steps=int(steps)))
            energy_final = float(relaxed.get_potential_energy())
            forces = relaxed.get_forces()
    except Exception as err:  # tblite raises several types (SCF failure, bad input)
        step = optimizer.nsteps if optimizer is not None else 0
        raise RuntimeError(
            f"relax_xtb: {method} failed for {formula} ({len(atoms)} atoms) at BFGS step "
            f"{step}: {err}"
        ) from err
    finally:
        relaxed.calc = None
    wall = time.perf_counter() - start
    fmax_reached = float(np.linalg.norm(forces, axis=1).max())
    heavy = atoms.numbers > 1
    rmsd = (
        float(kabsch_rmsd(atoms.positions[heavy], relaxed.positions[heavy]))
        if heavy.any()
        else None
    )
    summary: dict[str, Any] = {
        "method": method,
        "optimizer": "BFGS",
        "fmax_requested_eV_A": float(fmax),
        "fmax_reached_eV_A": fmax_reached,
        "max_steps": int(steps),
        "steps": int(optimizer.nsteps),
        "converged": converged,
        "energy_initial_eV": energy_initial,
        "energy_final_eV": energy_final,
        "heavy_atom_rmsd_A": rmsd,
    }
    _log.info(
        "relax_xtb: %s %s, %d BFGS steps in %.1f s, E %.4f -> %.4f eV, max |F| %.4f eV/Å, "
        "heavy-atom RMSD to input %s Å",
        method,
        formula,
        summary["steps"],
        wall,
        energy_initial,
        energy_final,
        fmax_reached,
        "n/a" if rmsd is None else f"{rmsd:.3f}",
    )
    if not converged:
        _log.warning(
            "relax_xtb: %s relaxation of %s not converged in %d steps: max |F| %.4f eV/Å "
            "> fmax %.4f eV/Å",
            method,
            formula,
            int(steps),
            fmax_reached,
            float(fmax),
        )
    return relaxed, summary


def embedded_ala10_helix(relax: bool = True, **relax_kwargs: Any) -> tuple[ase.Atoms, dict]:
    """The embedded default's starting Ala10: the ideal α-helix, relaxed with GFN2-xTB.

    :func:`build_ala10_helix` with :data:`EMBEDDED_HELIX_BUILD` (φ -57°, ψ -47°, ω 180°,
    MMFF94 hydrogens), then, with ``relax``, :func:`relax_xtb` on all atoms.

    Args:
        relax: relax with :func:`relax_xtb`; False returns the built helix.
        **relax_kwargs: passed to :func:`relax_xtb` (``fmax``, ``steps``, ``method``,
            ``log``); only with ``relax``.

    Returns:
        ``(atoms, record)``: the structure (Å, canonical order, name/residue arrays) and a
        JSON-serialisable dict with ``formula``, ``build`` (the :func:`build_ala10_helix`
        settings and the tools behind them), ``relax`` (the :func:`relax_xtb` summary, or
        ``None``) and ``backbone`` of the returned structure: per-residue ``phi_deg`` and
        ``psi_deg`` (``None`` where undefined: φ of residue 1) and
        ``helical_fraction_residues_2_9`` (:func:`gmnn.analysis.structure.helical_fraction`,
        default α box).
    """
    if relax_kwargs and not relax:
        raise ValueError(
            f"embedded_ala10_helix: relax=False but relax options {sorted(relax_kwargs)} given"
        )
    atoms = build_ala10_helix(**EMBEDDED_HELIX_BUILD)
    summary = None
    if relax:
        atoms, summary = relax_xtb(atoms, **relax_kwargs)
    backbone = backbone_indices(atoms.arrays[NAME_KEY], atoms.arrays[RESIDUE_KEY])
    phi, psi = backbone_dihedrals(atoms.positions, backbone)
    record = {
        "formula": atoms.get_chemical_formula(),
        "build": {
            "function": "gmnn.refdata.peptide.build_ala10_helix",
            "phi_deg": EMBEDDED_HELIX_BUILD["phi"],
            "psi_deg": EMBEDDED_HELIX_BUILD["psi"],
            "omega_deg": EMBEDDED_HELIX_BUILD["omega"],
            "relax_hydrogens": EMBEDDED_HELIX_BUILD["relax_hydrogens"],
            "heavy_atoms": "PeptideBuilder (Engh-Huber geometry)",
            "hydrogens": "RDKit AddHs(addCoords=True), MMFF94 with heavy atoms fixed",
        },
        "relax": summary,
        "backbone": {
            "phi_deg": [None if np.isnan(x) else round(float(x), 3) for x in phi],
            "psi_deg": [None if np.isnan(x) else round(float(x), 3) for x in psi],
            "helical_fraction_residues_2_9": float(helical_fraction(phi[1:9], psi[1:9])),
        },
    }
    return atoms, record
