"""Named molecular systems of the embedded ANI-like data set, built by the project.

The embedded default of the ANI half of the paper (Sec. 3.2) needs many closed-shell CHNO
systems: small molecules, water clusters and capped peptide fragments of the kind
deca-alanine is made of. Each has a name; :func:`build_system` turns a name into a
starting geometry:

* **small molecules** come from ASE's G2 collection (:func:`ase.build.molecule`);
* **peptides and drug-like molecules** from SMILES (:data:`SMILES`) with RDKit: ETKDG
  embedding from a fixed seed, hydrogens added by RDKit, MMFF94 relaxation;
* **helices** (:data:`HELICES`, e.g. ``ace_ala5_nme_helix``): capped oligo-alanines
  Ace-(Ala)_n-NMe built as ideal α-helices with the builder of the paper's Ala10 helix
  (:func:`gmnn.refdata.peptide.build_capped_ala_helix`: PeptideBuilder, RDKit hydrogens),
  holding n - 2 backbone hydrogen bonds C=O(i) ... H-N(i+4);
* **clusters** (``water2`` ... ``water8``, the bulk-like ``water16`` and ``water20``,
  dimers such as ``dimer_water_methanol``, the solvated peptide ``ace_ala_nme_water10``)
  from their monomers (:data:`CLUSTERS`), placed one after another at contact in random
  orientations from a fixed seed (:func:`molecular_cluster`).

Every geometry is then relaxed on the GFN2-xTB surface (tblite; :func:`relax_xtb`) by the
sampler before its molecular dynamics, so the starting point does not depend on the
force field used to build it. Names are checked: an unknown one is an error that lists
the known ones. RDKit and tblite are imported only when needed.
"""

from __future__ import annotations

import ase
import ase.build
import numpy as np
from scipy.spatial.transform import Rotation

SMILES = {
    # small molecules whose G2 names are not obvious (or absent from ASE's G2 set)
    "formaldehyde": "C=O",
    "methylamine": "CN",
    "formamide": "NC=O",
    "pyrrole": "c1cc[nH]c1",
    # capped peptide fragments (Ace = acetyl, NMe = N-methylamide), L-alanine
    "nma": "CC(=O)NC",
    "ace_ala_nme": "CC(=O)N[C@@H](C)C(=O)NC",
    "ace_ala2_nme": "CC(=O)N[C@@H](C)C(=O)N[C@@H](C)C(=O)NC",
    "ace_ala3_nme": "CC(=O)N[C@@H](C)C(=O)N[C@@H](C)C(=O)N[C@@H](C)C(=O)NC",
    "ace_ala4_nme": "CC(=O)N[C@@H](C)C(=O)N[C@@H](C)C(=O)N[C@@H](C)C(=O)N[C@@H](C)C(=O)NC",
    "ace_gly_nme": "CC(=O)NCC(=O)NC",
    "ace_gly_ala_nme": "CC(=O)NCC(=O)N[C@@H](C)C(=O)NC",
    "glycine": "NCC(=O)O",
    "alanine": "C[C@H](N)C(=O)O",
    "urea": "NC(=O)N",
    # drug-like molecules (larger than anything in training)
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "paracetamol": "CC(=O)Nc1ccc(O)cc1",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "nicotinamide": "NC(=O)c1cccnc1",
    "uracil": "O=c1cc[nH]c(=O)[nH]1",
}
"""Systems built from SMILES with RDKit (hydrogens added)."""

HELICES = {"ace_ala5_nme_helix": 5, "ace_ala6_nme_helix": 6}
"""Capped oligo-alanines built as α-helices: name -> number of alanines."""

CLUSTERS = {
    **{f"water{n}": ["H2O"] * n for n in (*range(2, 9), 16, 20)},
    # Ace-Ala-NMe with 10 waters at contact: its amide groups in water
    "ace_ala_nme_water10": ["ace_ala_nme"] + ["H2O"] * 10,
    "dimer_water_methanol": ["H2O", "CH3OH"],
    "dimer_methanol": ["CH3OH", "CH3OH"],
    "dimer_formamide": ["formamide", "formamide"],
    "dimer_acetic_acid": ["CH3COOH", "CH3COOH"],
    "dimer_nma_water": ["nma", "H2O"],
    "dimer_benzene_water": ["C6H6", "H2O"],
    "dimer_ammonia_water": ["NH3", "H2O"],
}
"""Systems assembled from monomers (names of :func:`build_system`), placed at contact."""

CONTACT_DISTANCE_A = 2.0
"""Monomers of a cluster are placed so that their closest atoms are this far apart (Å);
the GFN2-xTB relaxation then finds the hydrogen bonds."""

ELEMENTS = frozenset({1, 6, 7, 8})
"""H, C, N, O: the elements of ANI-1x, and the only ones accepted here."""


def known_systems() -> list[str]:
    """Names accepted by :func:`build_system` besides any :func:`ase.build.molecule` name."""
    return sorted({*SMILES, *CLUSTERS, *HELICES})


def check_system_name(name: str) -> None:
    """Raise ValueError for a name :func:`build_system` does not know (without building it)."""
    from ase.collections import g2

    if name not in {*known_systems(), *g2.names}:
        raise ValueError(
            f"unknown system {name!r}: use an ase.build.molecule name (G2, e.g. "
            f"'CH3OH') or one of {known_systems()}"
        )


def from_smiles(smiles: str, seed: int = 0) -> ase.Atoms:
    """A 3D geometry from SMILES: RDKit with hydrogens, ETKDG embedding, MMFF94 relaxation."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise ValueError(f"RDKit could not embed {smiles!r} in 3D (seed {seed})")
    AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
    return ase.Atoms(symbols, mol.GetConformer().GetPositions())


def molecular_cluster(monomers: list[ase.Atoms], seed: int = 0) -> ase.Atoms:
    """Monomers placed one after another in random orientations at contact.

    Monomer ``k`` is rotated randomly and moved in from a random direction, in steps of
    0.1 Å towards the centre of the atoms placed so far, and stopped when its closest
    atom is :data:`CONTACT_DISTANCE_A` from them. All random numbers come from
    ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    cluster = monomers[0].copy()
    cluster.positions -= cluster.get_center_of_mass()
    for monomer in monomers[1:]:
        part = monomer.copy()
        part.positions -= part.get_center_of_mass()
        part.positions = Rotation.random(random_state=rng).apply(part.positions)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        centre = cluster.positions.mean(axis=0)
        radius = np.linalg.norm(cluster.positions - centre, axis=1).max()
        radius += np.linalg.norm(part.positions, axis=1).max() + 2 * CONTACT_DISTANCE_A
        while radius > 0:
            trial = part.positions + centre + radius * direction
            gap = np.linalg.norm(trial[:, None] - cluster.positions[None], axis=2).min()
            if gap <= CONTACT_DISTANCE_A:
                break
            radius -= 0.1
        cluster += ase.Atoms(part.numbers, trial)
    return cluster


def build_system(name: str, seed: int = 0) -> ase.Atoms:
    """The starting geometry of a named system (see the module docstring).

    Raises:
        ValueError: for an unknown name (the message lists the known ones) or a system
            with an element other than H, C, N, O or an odd number of electrons.
    """
    if name in SMILES:
        atoms = from_smiles(SMILES[name], seed)
    elif name in HELICES:
        from gmnn.refdata.peptide import build_capped_ala_helix

        atoms = build_capped_ala_helix(HELICES[name])
    elif name in CLUSTERS:
        atoms = molecular_cluster([build_system(m, seed) for m in CLUSTERS[name]], seed)
    else:
        check_system_name(name)
        atoms = ase.build.molecule(name)
    atoms = ase.Atoms(atoms.numbers, atoms.positions)
    atoms.info["name"] = name
    extra = sorted(set(atoms.numbers.tolist()) - ELEMENTS)
    if extra:
        raise ValueError(f"system {name!r} has element(s) Z={extra}; only H, C, N, O allowed")
    if int(atoms.numbers.sum()) % 2:
        raise ValueError(f"system {name!r} has an odd number of electrons (not closed-shell)")
    return atoms


def relax_xtb(
    atoms: ase.Atoms, method: str = "GFN2-xTB", fmax: float = 0.05, steps: int = 500
) -> ase.Atoms:
    """A copy of ``atoms`` relaxed on the GFN2-xTB surface (tblite, BFGS, ``fmax`` eV/Å),
    on one OpenMP thread (:func:`gmnn.refdata.qc.one_openmp_thread`) so that the relaxed
    geometry, and the MD sampled from it, are bitwise reproducible."""
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    from gmnn.refdata.qc import one_openmp_thread

    relaxed = ase.Atoms(atoms.numbers, atoms.positions)
    relaxed.info.update(atoms.info)
    relaxed.calc = TBLite(method=method, verbosity=0)
    with one_openmp_thread():
        BFGS(relaxed, logfile=None).run(fmax=fmax, steps=steps)
        relaxed.info["relaxed_fmax_eV_A"] = float(np.abs(relaxed.get_forces()).max())
    relaxed.calc = None
    return relaxed
