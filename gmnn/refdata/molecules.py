"""Reference data of one molecule at two levels of theory: one code path for every molecule.

The embedded default's methanol (config ``embedded_data``, :meth:`MoleculeSpec.from_embedded_data`)
and a user's own molecules (config ``molecules:``, :meth:`MoleculeSpec.from_config`) are
made by the same functions, each a thin layer over :mod:`gmnn.refdata.qc`:

1. :func:`build` the starting geometry: an ASE/G2 name, a SMILES string (RDKit) or a
   structure file (xyz, extxyz, PDB), optionally relaxed on the GFN2-xTB surface;
2. :func:`sample` GFN2-xTB Langevin MD (one trajectory per temperature) and the record of
   which frames each level of theory labels (:func:`frame_indices`);
3. :func:`chunk_atoms` and :func:`label_chunk` label one chunk of a level's frames with
   PySCF (a cluster runs the chunks in parallel); every label's CPU and wall seconds are
   kept, and :func:`gmnn.refdata.qc.merge_chunks` writes them into the data file's
   ``meta["label_cost"]``;
4. :func:`import_labels` reads labels computed elsewhere (ORCA, Psi4, ...) from an
   extxyz file whose energy and force units are stated, through :func:`gmnn.data.read`.

A spec names each level by its key: ``dft`` and ``cc`` for the embedded methanol (the
names of its data files), ``pretraining`` and ``accurate`` for the ``molecules:`` section.
The first level (pre-training, the cheaper one) may be absent when fine-tuning starts from
an exported pre-trained ensemble (``pretrained``).

:meth:`MoleculeSpec.problems` lists what is wrong with a spec as ``(key, problem)`` pairs,
without running any quantum chemistry, so that the pipeline refuses a bad entry at
start-up with a message naming the molecule and the key.

Units: Å, eV, eV/Å, fs, K (as :mod:`gmnn.refdata.qc`).
"""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np
from ase.data import chemical_symbols

from gmnn.refdata import qc

LEVEL_LABELS = {"dft": "DFT", "cc": "CC"}
"""How the frame-selection text names a level (others by their key)."""

MAX_XTB_Z = 86
"""GFN2-xTB (tblite) has parameters for the elements H to Rn."""

STRUCTURE_FORMATS = {".xyz": "extxyz", ".extxyz": "extxyz", ".pdb": "proteindatabank"}
"""Structure files a molecule may start from, by extension, and their ASE format."""


# ----------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Level:
    """One level of theory of a molecule: labels computed with PySCF on sampled frames
    (``method``, ``basis``, ``n_structures``) or read from ``labels_file``."""

    key: str
    method: str | None = None
    basis: str | None = None
    frozen_core: bool = False
    forces: bool = True  # energies and forces (False: energies only)
    n_structures: int | None = None
    labels_file: str | None = None
    energy_unit: str | None = None
    force_unit: str | None = None

    @property
    def computed(self) -> bool:
        """Whether the pipeline computes the labels (else they come from ``labels_file``)."""
        return self.labels_file is None

    @property
    def label(self) -> str:
        return LEVEL_LABELS.get(self.key, self.key)

    def problems(self, charge: int, spin: int) -> list[tuple[str, str]]:
        out = []
        if self.computed:
            for key in ("method", "basis", "n_structures"):
                if getattr(self, key) is None:
                    out.append((key, "missing: needed to compute labels (or give labels_file)"))
            for key in ("energy_unit", "force_unit"):
                if getattr(self, key) is not None:
                    out.append((key, "only for labels_file (PySCF labels are in eV, eV/Å)"))
            if self.method is not None:
                out += [("method", p) for p in _method_problems(self.method, self.frozen_core)]
            if spin:
                out.append(
                    (
                        "spin",
                        f"{spin}: PySCF labels here are restricted closed-shell (spin 0) only; "
                        "bring open-shell labels as labels_file",
                    )
                )
            return out
        if self.n_structures is not None:
            out.append(("n_structures", "not with labels_file: every labelled frame is used"))
        from gmnn import units

        if self.energy_unit is None:
            out.append(("energy_unit", f"missing: the unit of the energies in {self.labels_file}"))
        else:
            try:
                units.energy_unit_in_ev(self.energy_unit)
            except KeyError as err:
                out.append(("energy_unit", err.args[0]))
        if self.force_unit is None and self.forces:
            out.append(
                (
                    "force_unit",
                    f"missing: the unit of the forces in {self.labels_file} (e.g. "
                    "'Hartree/Bohr'), or forces: false for energies only",
                )
            )
        elif self.force_unit is not None:
            try:
                units.force_unit_in_ev_per_angstrom(self.force_unit)
            except KeyError as err:
                out.append(("force_unit", err.args[0]))
        if not Path(self.labels_file).is_file():
            out.append(("labels_file", f"{self.labels_file}: no such file"))
        return out


def _method_problems(method: str, frozen_core: bool) -> list[str]:
    """What PySCF would refuse in a method (checked only if PySCF is installed)."""
    from importlib.util import find_spec

    if find_spec("pyscf") is None:
        return []
    try:
        qc._settings(method, "sto-3g", frozen_core, 1e-10, 1e-8, 3, 2000, 0)
    except ValueError as err:
        return [str(err)]
    return []


@dataclass(frozen=True)
class Sampling:
    """GFN2-xTB Langevin MD (:func:`gmnn.refdata.qc.sample_xtb_md`): one trajectory per
    temperature, the frames split evenly over them (the first ones get the remainder),
    the trajectory of the k-th temperature seeded with ``seed + k``."""

    temperature_K: float | tuple[float, ...]
    method: str = "GFN2-xTB"
    timestep_fs: float = 0.5
    n_equil: int = 2000
    stride: int = 20
    seed: int = 0
    relax: bool = True  # relax the start on the GFN2-xTB surface before the MD

    @property
    def temperatures(self) -> tuple[float, ...]:
        t = self.temperature_K
        return tuple(t) if isinstance(t, (list, tuple)) else (t,)

    def frames_per_temperature(self, n_frames: int) -> list[int]:
        n_t = len(self.temperatures)
        return [n_frames // n_t + (k < n_frames % n_t) for k in range(n_t)]

    def record(self) -> dict:
        """The settings as the data files record them (``temperature_K`` as given)."""
        t = self.temperature_K
        return {
            "method": self.method,
            "temperature_K": list(t) if isinstance(t, (list, tuple)) else t,
            "timestep_fs": self.timestep_fs,
            "n_equil": self.n_equil,
            "stride": self.stride,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class MoleculeSpec:
    """A molecule and how its two-level reference data are made (module docstring).

    Exactly one of ``ase_molecule`` (an ASE/G2 name or an alias of
    :func:`gmnn.refdata.qc.build_molecule`), ``smiles`` and ``structure`` (a file) gives
    the starting geometry; ``spin`` is the number of unpaired electrons (2S, as PySCF).
    """

    name: str
    accurate: Level
    pretraining: Level | None = None
    pretrained: str | None = None  # an exported ensemble directory (gmnn.export)
    sampling: Sampling | None = None
    ase_molecule: str | None = None
    smiles: str | None = None
    structure: str | None = None
    charge: int = 0
    spin: int = 0
    chunk_size: int = 20

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, name: str, section: Mapping) -> MoleculeSpec:
        """The spec of entry ``name`` of the config's ``molecules:`` section."""
        section = dict(section)
        levels = {}
        for key in ("pretraining", "accurate"):
            if section.get(key) is not None:
                levels[key] = Level(key=key, **section.pop(key))
            else:
                section.pop(key, None)
        sampling = section.pop("sampling", None)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(
            name=name,
            sampling=None if sampling is None else Sampling(**sampling),
            accurate=levels.get("accurate"),
            pretraining=levels.get("pretraining"),
            **{k: v for k, v in section.items() if k in known},
        )

    @classmethod
    def from_embedded_data(cls, section: Mapping) -> MoleculeSpec:
        """The embedded default's molecule (config ``embedded_data``): levels ``dft`` and
        ``cc`` in the same basis, energies and forces, no relaxation before the MD."""

        def level(key):
            s = section[key]
            return Level(
                key=key,
                method=s["method"],
                basis=s["basis"],
                frozen_core=s.get("frozen_core", False),
                n_structures=s["n_structures"],
            )

        return cls(
            name=section["molecule"],
            ase_molecule=section["molecule"],
            sampling=Sampling(**section["sampling"], relax=False),
            pretraining=level("dft"),
            accurate=level("cc"),
            chunk_size=section["chunk_size"],
        )

    def to_dict(self) -> dict:
        """Plain data (for Snakemake params); :meth:`from_dict` inverts it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> MoleculeSpec:
        data = dict(data)
        for key in ("accurate", "pretraining"):
            if data.get(key) is not None:
                data[key] = Level(**data[key])
        if data.get("sampling") is not None:
            sampling = dict(data["sampling"])
            if isinstance(sampling["temperature_K"], list):
                sampling["temperature_K"] = tuple(sampling["temperature_K"])
            data["sampling"] = Sampling(**sampling)
        return cls(**data)

    # ------------------------------------------------------------------ derived

    @property
    def levels(self) -> dict[str, Level]:
        """The levels present, the pre-training level first."""
        return {lv.key: lv for lv in (self.pretraining, self.accurate) if lv is not None}

    @property
    def computed_levels(self) -> dict[str, Level]:
        """The levels whose labels are computed on sampled frames."""
        return {k: lv for k, lv in self.levels.items() if lv.computed}

    @property
    def n_frames(self) -> int:
        """Frames to sample: one per computed label."""
        return sum(lv.n_structures or 0 for lv in self.computed_levels.values())

    @property
    def source(self) -> str:
        """Where the starting geometry comes from (``smiles:CCO``, ``structure:a.xyz``...)."""
        for key in ("ase_molecule", "smiles", "structure"):
            if getattr(self, key) is not None:
                return f"{key}:{getattr(self, key)}"
        return "none"

    # ------------------------------------------------------------------ checks

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong, as ``(key, problem)`` pairs (keys relative to the entry, e.g.
        ``accurate.energy_unit``); reads the structure file, runs no quantum chemistry."""
        out = []
        given = [k for k in ("ase_molecule", "smiles", "structure") if getattr(self, k)]
        if len(given) != 1:
            out.append(
                (
                    given[1] if len(given) > 1 else "smiles",
                    "give exactly one of ase_molecule, smiles and structure"
                    + (f" (got {', '.join(given)})" if given else ""),
                )
            )
        if self.accurate is None:
            out.append(
                ("accurate", "missing: the accurate level (method and basis, or labels_file)")
            )
        if (self.pretraining is None) == (self.pretrained is None):
            out.append(
                (
                    "pretraining",
                    "give exactly one of pretraining (a level) and pretrained (an exported "
                    "ensemble)",
                )
            )
        if self.computed_levels and self.sampling is None:
            out.append(("sampling", "missing: computed labels need sampled frames"))
        if self.spin < 0:
            out.append(("spin", f"{self.spin}: the number of unpaired electrons is >= 0"))
        for level in self.levels.values():
            out += [(f"{level.key}.{k}", p) for k, p in level.problems(self.charge, self.spin)]
        if self.sampling is not None:
            for t in self.sampling.temperatures:
                if not t > 0:
                    out.append(("sampling.temperature_K", f"{t}: must be positive"))
        if len(given) == 1:
            try:
                atoms = build(self, relax=False, check=False)
            except (ValueError, KeyError, OSError) as err:
                return out + [(given[0], _one_line(err))]
            out += self.atoms_problems(atoms) + self.pretrained_problems(atoms)
        return _unique(out)

    def atoms_problems(self, atoms: ase.Atoms) -> list[tuple[str, str]]:
        """Elements and electron count of the starting geometry against charge and spin."""
        key = next(k for k in ("ase_molecule", "smiles", "structure") if getattr(self, k))
        out = []
        if self.sampling is not None and atoms.numbers.max() > MAX_XTB_Z:
            heavy = sorted({chemical_symbols[z] for z in atoms.numbers if z > MAX_XTB_Z})
            out.append((key, f"element(s) {heavy} beyond GFN2-xTB's parameters (H to Rn)"))
        n_electrons = int(atoms.numbers.sum()) - self.charge
        if n_electrons < 0:
            out.append(("charge", f"{self.charge}: more than the {atoms.numbers.sum()} electrons"))
        elif (n_electrons - self.spin) % 2:
            formula = atoms.get_chemical_formula()
            out.append(
                (
                    "spin",
                    f"{self.spin}: {formula} with charge {self.charge} has {n_electrons} "
                    f"electrons, an {'odd' if n_electrons % 2 else 'even'} number, so spin "
                    f"(unpaired electrons) must be {'odd' if n_electrons % 2 else 'even'}",
                )
            )
        for level in self.computed_levels.values():
            problem = _basis_problem(level.basis, atoms)
            if problem:
                out.append((f"{level.key}.basis", problem))
        return out

    def pretrained_problems(self, atoms: ase.Atoms) -> list[tuple[str, str]]:
        """The exported ensemble ``pretrained`` must know every element of the molecule
        (checked when it exists; the pipeline may still have to export it)."""
        from gmnn.export import read_ensemble
        from gmnn.io import FileError

        if self.pretrained is None or not Path(self.pretrained).exists():
            return []
        try:
            species = set(read_ensemble(self.pretrained, verify=False)["species"])
        except FileError as err:
            return [("pretrained", str(err))]
        missing = sorted(
            {chemical_symbols[z] for z in atoms.numbers} - {chemical_symbols[z] for z in species}
        )
        if missing:
            return [("pretrained", f"{self.pretrained} has no parameters for element(s) {missing}")]
        return []


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _unique(pairs):
    seen, out = set(), []
    for pair in pairs:
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out


def _basis_problem(basis: str | None, atoms: ase.Atoms) -> str | None:
    """Whether PySCF's basis set ``basis`` covers every element (if PySCF is installed)."""
    from importlib.util import find_spec

    if basis is None or find_spec("pyscf") is None:
        return None
    from pyscf import gto

    missing = []
    for symbol in sorted({chemical_symbols[z] for z in atoms.numbers}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Basis may be available in basis-set-exchange"
                if not gto.basis.load(basis, symbol):
                    missing.append(symbol)
        except Exception:  # PySCF raises several types for an unknown basis or element
            missing.append(symbol)
    if missing:
        return f"{basis}: PySCF has no such basis for element(s) {missing}"
    return None


# ----------------------------------------------------------------------------- the steps


def read_structure(path: str | Path) -> ase.Atoms:
    """The first structure of an xyz, extxyz or PDB file (numbers and positions only).

    Raises:
        ValueError: an unknown extension, a missing file, an unknown element or a file
            ASE cannot parse; the message names the file.
    """
    path = Path(path)
    fmt = STRUCTURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: unknown structure format; use one of {sorted(STRUCTURE_FORMATS)}"
        )
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    import ase.io

    try:
        atoms = ase.io.read(path, index=0, format=fmt)
    except Exception as err:  # ASE raises many exception types for unreadable files
        message = _one_line(err)
        if isinstance(err, KeyError):
            message = f"unknown element {message}"
        raise ValueError(f"{path}: cannot read as {fmt}: {message}") from None
    if len(atoms) == 0:
        raise ValueError(f"{path}: no atoms")
    if (atoms.numbers <= 0).any():
        raise ValueError(f"{path}: unknown element (atomic number 0, symbol 'X')")
    return ase.Atoms(atoms.numbers, atoms.positions)


def build(spec: MoleculeSpec, *, relax: bool | None = None, check: bool = True) -> ase.Atoms:
    """The starting geometry of ``spec`` (Å), relaxed on the GFN2-xTB surface if
    ``spec.sampling.relax`` (or ``relax``) is true.

    Raises:
        ValueError: an unknown name, a SMILES RDKit cannot parse (unknown element
            included), a structure file that does not parse, or (``check``) an electron
            count that does not fit charge and spin.
    """
    if spec.ase_molecule is not None:
        atoms = qc.build_molecule(spec.ase_molecule)
    elif spec.smiles is not None:
        from gmnn.refdata.systems import from_smiles

        atoms = _from_smiles(spec.smiles, from_smiles)
    elif spec.structure is not None:
        atoms = read_structure(spec.structure)
    else:
        raise ValueError(f"molecule {spec.name!r}: no ase_molecule, smiles or structure")
    atoms = ase.Atoms(atoms.numbers, atoms.positions)
    if check:
        problems = spec.atoms_problems(atoms)
        if problems:
            raise ValueError("; ".join(f"{k}: {p}" for k, p in problems))
    if relax is None:
        relax = spec.sampling is not None and spec.sampling.relax
    if relax:
        from gmnn.refdata.systems import relax_xtb

        atoms = _relax(atoms, spec, relax_xtb)
    atoms.info["name"] = spec.name
    return atoms


_BRACKET_ATOM = re.compile(r"\[\d*([A-Za-z][a-z]?)")
_AROMATIC = {"b", "c", "n", "o", "p", "s", "se", "as", "te"}


def smiles_elements_problem(smiles: str) -> str | None:
    """An unknown element in a bracket atom of ``smiles`` (``[Xx]``), named; RDKit's own
    error for it is a bare syntax error."""
    for symbol in _BRACKET_ATOM.findall(smiles):
        if symbol not in chemical_symbols[1:] and symbol not in _AROMATIC:
            return f"unknown element {symbol!r} in SMILES {smiles!r}"
    return None


def _from_smiles(smiles: str, from_smiles) -> ase.Atoms:
    from rdkit import RDLogger

    problem = smiles_elements_problem(smiles)
    if problem:
        raise ValueError(problem)
    RDLogger.DisableLog("rdApp.*")  # its parse errors go to stderr; ours names the key
    try:
        return from_smiles(smiles)
    except ValueError as err:
        raise ValueError(
            f"{err} (a syntax error, an unclosed ring or an impossible valence)"
        ) from None
    finally:
        RDLogger.EnableLog("rdApp.*")


def _relax(atoms: ase.Atoms, spec: MoleculeSpec, relax_xtb) -> ase.Atoms:
    if spec.charge == 0 and spec.spin == 0:
        return relax_xtb(atoms, method=spec.sampling.method)
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    relaxed = atoms.copy()
    relaxed.calc = TBLite(
        method=spec.sampling.method, charge=spec.charge, multiplicity=spec.spin + 1, verbosity=0
    )
    with qc.one_openmp_thread():
        BFGS(relaxed, logfile=None).run(fmax=0.05, steps=500)
    relaxed.calc = None
    return relaxed


def frame_selection(keys: Sequence[str], labels: Sequence[str]) -> str:
    """How :func:`frame_indices` chooses the frames of each computed level, in words."""
    if len(keys) == 1:
        return f"all n_{keys[0]} frames sampled, in order, are labelled at the {labels[0]} level"
    (a, b), (la, lb) = keys, labels
    return (
        f"interleaved: of the n_{a} + n_{b} frames sampled in order, frame "
        f"floor((k + 1/2) * (n_{a} + n_{b}) / n_{b}) is labelled at the {lb} level for "
        f"k = 0, ..., n_{b} - 1, every other frame at the {la} level"
    )


def frame_indices(spec: MoleculeSpec) -> dict[str, np.ndarray]:
    """Disjoint frame indices of each computed level (:func:`gmnn.refdata.qc.split_frames`:
    the accurate level's frames spread evenly over the whole sampling)."""
    levels = list(spec.computed_levels.values())
    if len(levels) == 1:
        return {levels[0].key: np.arange(levels[0].n_structures, dtype=np.int64)}
    split = qc.split_frames(levels[0].n_structures, levels[1].n_structures)
    return {levels[0].key: split["dft"], levels[1].key: split["cc"]}


def sample(spec: MoleculeSpec, start: ase.Atoms | None = None, n_frames: int | None = None):
    """GFN2-xTB Langevin MD of ``spec`` and the record of which frames each level labels.

    Args:
        spec: the molecule.
        start: its starting geometry (default :func:`build`).
        n_frames: sample only this many frames in all (default ``spec.n_frames``; fewer
            give the first frames of the full sampling when there is one temperature).

    Returns:
        ``(frames, record)``: the sampled :class:`ase.Atoms` (``info["frame"]`` their index
        over all temperatures) and a JSON-serialisable record: ``molecule``, ``sampling``
        (settings, ``n_frames``, friction, thermostat), ``frame_selection``, ``frames``
        (level key -> frame indices), ``code_versions``, ``wall_s``, ``start``.
    """
    s = spec.sampling
    atoms = build(spec) if start is None else start
    total = spec.n_frames if n_frames is None else n_frames
    t0 = time.perf_counter()
    frames: list[ase.Atoms] = []
    counts = s.frames_per_temperature(total)
    xtb_charge = {}
    if spec.charge or spec.spin:
        xtb_charge = {"charge": spec.charge, "multiplicity": spec.spin + 1}
    for k, (temperature, count) in enumerate(zip(s.temperatures, counts, strict=True)):
        if count == 0:
            continue
        part = qc.sample_xtb_md(
            atoms,
            temperature_K=temperature,
            timestep_fs=s.timestep_fs,
            n_equil=s.n_equil,
            n_frames=count,
            stride=s.stride,
            seed=s.seed + k,
            method=s.method,
            **xtb_charge,
        )
        for snapshot in part:
            snapshot.info["frame"] = len(frames)
            if len(s.temperatures) > 1:
                snapshot.info["temperature_K"] = temperature
            frames.append(snapshot)
    wall_s = time.perf_counter() - t0
    keys = list(spec.computed_levels)
    sampling = {
        **s.record(),
        "n_frames": spec.n_frames,
        "friction_per_fs": qc.LANGEVIN_FRICTION_PER_FS,
        "thermostat": "Langevin (ase.md.langevin), centre of mass fixed",
    }
    if len(s.temperatures) > 1:
        sampling["n_frames_per_temperature"] = s.frames_per_temperature(spec.n_frames)
        sampling["seeds"] = "seed + k for the k-th temperature"
    record = {
        "molecule": spec.name,
        "sampling": sampling,
        "frame_selection": frame_selection(keys, [spec.levels[k].label for k in keys]),
        "frames": {key: idx.tolist() for key, idx in frame_indices(spec).items()},
        "code_versions": qc.provenance(),
        "wall_s": round(wall_s, 1),
        "start": {
            "source": spec.source,
            "charge": spec.charge,
            "spin": spec.spin,
            "relaxed": bool(s.relax),
            "numbers": atoms.numbers.tolist(),
            "positions_A": atoms.positions.tolist(),
        },
    }
    return frames, record


def chunk_atoms(
    trajectory: Sequence[ase.Atoms], record: Mapping, level: str, chunk: int, chunk_size: int
) -> list[ase.Atoms]:
    """The frames of chunk ``chunk`` of ``level``: ``record["frames"][level][chunk *
    chunk_size : (chunk + 1) * chunk_size]`` of the sampled ``trajectory``."""
    selection = record["frames"][level]
    indices = selection[chunk * chunk_size : (chunk + 1) * chunk_size]
    if not indices:
        raise ValueError(f"chunk {chunk} of level {level} is empty ({len(selection)} frames)")
    atoms_list = [trajectory[i] for i in indices]
    if [atoms.info["frame"] for atoms in atoms_list] != indices:
        raise ValueError("the trajectory's frame numbers do not match their order")
    return atoms_list


def n_chunks(spec: MoleculeSpec, level: str) -> int:
    """Number of labelling jobs of a computed level."""
    return -(-spec.levels[level].n_structures // spec.chunk_size)


def label_chunk(
    spec: MoleculeSpec,
    level: str,
    atoms_list: Sequence[ase.Atoms],
    *,
    max_memory_mb: int = 2000,
    n_threads: int | None = None,
) -> dict[str, np.ndarray]:
    """PySCF labels of one chunk (:func:`gmnn.refdata.qc.label_pyscf`, unconverged
    structures dropped as NaN) as the arrays of a chunk file, which
    :func:`gmnn.refdata.qc.merge_chunks` joins: ``numbers``, ``positions``, ``n_atoms``,
    ``energy``, ``forces`` (NaN without forces), ``frames`` and ``info`` (JSON, with the
    per-label ``cpu_s`` and ``wall_s`` and the code versions)."""
    import json

    lv = spec.levels[level]
    extra = {"charge": spec.charge} if spec.charge else {}
    if not lv.forces:
        extra["forces"] = False
    energies, forces, info = qc.label_pyscf(
        atoms_list,
        lv.method,
        lv.basis,
        frozen_core=lv.frozen_core,
        max_memory_mb=max_memory_mb,
        n_threads=n_threads,
        on_failure="drop",
        **extra,
    )
    info["code_versions"] = qc.provenance()
    positions = np.concatenate([atoms.positions for atoms in atoms_list])
    return {
        "numbers": np.concatenate([atoms.numbers for atoms in atoms_list]),
        "positions": positions,
        "n_atoms": np.array([len(atoms) for atoms in atoms_list]),
        "energy": energies,
        "forces": np.full_like(positions, np.nan) if forces is None else forces,
        "frames": np.array([int(atoms.info["frame"]) for atoms in atoms_list]),
        "info": np.array(json.dumps(info)),
    }


def import_labels(spec: MoleculeSpec, level: str, source: str | None = None):
    """The labels of a level computed elsewhere: ``labels_file`` read with
    :func:`gmnn.data.read` (the same reader and checks as every data file), converted
    from its stated units to eV and eV/Å.

    Raises:
        gmnn.data.DataError: a file that does not parse or lacks energies (or forces
            with ``forces: true``), naming the file.
    """
    from gmnn import units
    from gmnn.data import read
    from gmnn.data.errors import DataError

    lv = spec.levels[level]
    data = read(lv.labels_file, energy=True, forces=True if lv.forces else False)
    e = units.energy_unit_in_ev(lv.energy_unit)
    f = units.force_unit_in_ev_per_angstrom(lv.force_unit) if lv.forces else None
    numbers = build(spec, relax=False, check=False).numbers
    for i in range(len(data)):
        got = data.atoms(i).numbers
        if sorted(got.tolist()) != sorted(numbers.tolist()):
            raise DataError(
                lv.labels_file,
                f"frame {i} has {ase.Atoms(got).get_chemical_formula()}, not the molecule's "
                f"{ase.Atoms(numbers).get_chemical_formula()} ({spec.source})",
            )
    meta = {
        "source": source,
        "format": "gmnn-molecule-import",
        "name": f"{spec.name}_{level}",
        "molecule": spec.name,
        "level": level,
        "level_of_theory": f"{lv.method}/{lv.basis}" if lv.method else "as labelled elsewhere",
        "method": lv.method,
        "basis": lv.basis,
        "labels_file": lv.labels_file,
        "original_energy_unit": lv.energy_unit,
        "original_force_unit": lv.force_unit if lv.forces else None,
        "ids": "frame index in labels_file",
        "units": {"energy": "eV", "forces": "eV/Angstrom", "positions": "Angstrom"},
    }
    return data.replace(
        energy=data.energy * e,
        forces=None if f is None else data.forces * f,
        meta=meta,
    )


def describe(problems: Sequence[tuple[str, str]], prefix: str) -> list[str]:
    """``(key, problem)`` pairs as lines ``<prefix>.<key>: <problem>``."""
    return [f"{prefix}.{key}: {problem}" for key, problem in problems]
