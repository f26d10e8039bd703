"""Reference data from quantum chemistry: GFN2-xTB sampling and PySCF labels.

This module generates the pipeline's *embedded* data set, a small transfer-learning
benchmark that needs no download (rules/embedded.smk):

1. :func:`sample_xtb_md` samples configurations of a molecule by Langevin molecular
   dynamics on the GFN2-xTB potential-energy surface (tblite) at elevated temperature.
2. :func:`split_frames` assigns disjoint sampled frames to the two levels of theory.
3. :func:`label_pyscf` computes energies and analytic forces with PySCF: DFT (any
   exchange-correlation functional) for pre-training, CCSD(T) (or CCSD, MP2, HF) in the
   same basis for fine-tuning.
4. :func:`merge_chunks` joins the labelled chunks of one level into one data set.

Units: lengths in Å, energies in eV, forces in eV/Å, times in fs, temperatures in K.
PySCF works in Hartree and Bohr; conversions use :mod:`ase.units`. Only restricted
closed-shell calculations are supported (CCSD(T) gradients in PySCF are RHF-based).

tblite and PySCF are imported inside the functions that need them, so importing this
module needs only NumPy and ASE (and never TensorFlow).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import json
import logging
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ase
import ase.build
import numpy as np
from ase import units
from ase.constraints import FixCom

from gmnn.analysis.structure import covalent_bonds
from gmnn.data.structures import Structures

WAVEFUNCTION_METHODS = ("HF", "MP2", "CCSD", "CCSD(T)")
"""Methods run on top of RHF; any other method string is an exchange-correlation functional."""

MOLECULE_ALIASES = {"ethanol": "CH3CH2OH", "methanol": "CH3OH", "water": "H2O"}
"""Common names accepted by :func:`build_molecule` besides :func:`ase.build.molecule` names."""

FRAME_SELECTION = (
    "interleaved: of the n_dft + n_cc frames sampled in order, frame "
    "floor((k + 1/2) * (n_dft + n_cc) / n_cc) is labelled at the CC level for "
    "k = 0, ..., n_cc - 1, every other frame at the DFT level"
)
"""How :func:`split_frames` chooses the frames of each level (stored in the data files)."""

SAMPLING_BOND_FACTOR = 1.3
"""Factor on the summed covalent radii that defines a bond in the topology check of
:func:`sample_xtb_md` (:func:`gmnn.analysis.structure.covalent_bonds`). Looser than the
default :data:`~gmnn.analysis.structure.COVALENT_BOND_FACTOR` (1.2) because the sampling
runs hot (500 K in ``config.yaml``): a bond stretched by thermal motion must stay a bond,
while 1-3 pairs (1.6 times the summed radii or more) stay apart. The committed embedded
data sets were sampled with it."""

HARTREE_PER_BOHR = units.Hartree / units.Bohr
"""One Hartree/Bohr in eV/Å."""

LANGEVIN_FRICTION_PER_FS = 0.01
"""Default Langevin friction of :func:`sample_xtb_md` in 1/fs (relaxation time 100 fs)."""

_log = logging.getLogger(__name__)

_PROVENANCE_PACKAGES = ("pyscf", "tblite", "ase", "numpy", "h5py", "gmnn-tl")

_OPENMP_RUNTIMES = ("libgomp.so.1", "libomp.so", "libiomp5.so", "libomp.dylib", "libiomp5.dylib")


class ConvergenceError(RuntimeError):
    """An iterative step (SCF, CC amplitudes, CC lambda) failed to converge.

    Attributes:
        stage: the step that failed (``"SCF"``, ``"CCSD"``, ``"lambda"``).
        frame: the frame index of the structure (``atoms.info["frame"]`` or its position).
    """

    def __init__(self, stage: str, frame: int) -> None:
        super().__init__(f"{stage} did not converge for frame {frame}")
        self.stage = stage
        self.frame = frame


def build_molecule(name: str) -> ase.Atoms:
    """The gas-phase geometry of a molecule by name.

    Args:
        name: a key of :data:`MOLECULE_ALIASES` (e.g. ``"ethanol"``) or any name known to
            :func:`ase.build.molecule` (e.g. ``"CH3CH2OH"``).

    Returns:
        The molecule (positions in Å) from ASE's G2 collection, without cell or pbc.
    """
    try:
        return ase.build.molecule(MOLECULE_ALIASES.get(name, name))
    except KeyError:
        raise ValueError(
            f"unknown molecule {name!r}: use one of {sorted(MOLECULE_ALIASES)} or an "
            "ase.build.molecule name such as 'CH3CH2OH'"
        ) from None


def _bonds(atoms: ase.Atoms) -> np.ndarray:
    """The covalent bonds of a sampled molecule (:data:`SAMPLING_BOND_FACTOR`)."""
    return covalent_bonds(atoms.numbers, atoms.positions, factor=SAMPLING_BOND_FACTOR)


@contextlib.contextmanager
def one_openmp_thread() -> Iterator[None]:
    """Run the OpenMP runtimes already loaded (tblite's) on one thread, then restore them.

    Multi-threaded OpenMP reductions in tblite change forces in the last bits, which the
    chaotic dynamics amplifies, so trajectories are reproducible only on one thread; for
    molecules this small one thread is also faster. Only libraries that are already
    loaded are touched (``RTLD_NOLOAD``); without ``RTLD_NOLOAD`` (Windows) this does
    nothing.
    """
    runtimes = []
    if hasattr(os, "RTLD_NOLOAD"):
        for name in _OPENMP_RUNTIMES:
            try:
                runtime = ctypes.CDLL(name, mode=os.RTLD_NOLOAD)
            except OSError:
                continue
            runtimes.append((runtime, runtime.omp_get_max_threads()))
            runtime.omp_set_num_threads(1)
    try:
        yield
    finally:
        for runtime, n_threads in runtimes:
            runtime.omp_set_num_threads(n_threads)


def sample_xtb_md(
    atoms: ase.Atoms,
    temperature_K: float,
    timestep_fs: float,
    n_equil: int,
    n_frames: int,
    stride: int,
    seed: int,
    *,
    method: str = "GFN2-xTB",
    friction_per_fs: float = LANGEVIN_FRICTION_PER_FS,
    charge: int | None = None,
    multiplicity: int | None = None,
) -> list[ase.Atoms]:
    """Sample configurations by Langevin dynamics on the GFN2-xTB surface (tblite).

    Initial momenta are drawn from the Maxwell-Boltzmann distribution at
    ``temperature_K`` (without centre-of-mass motion or rotation), the centre of mass is
    fixed (:class:`ase.constraints.FixCom`), ``n_equil`` steps are discarded, and then a
    frame is stored every ``stride`` steps. All random numbers come from
    ``numpy.random.default_rng(seed)`` and tblite runs on one OpenMP thread, so a run is
    bitwise reproducible for the same seed and tblite build.

    Args:
        atoms: the starting geometry (positions in Å); not modified.
        temperature_K: thermostat temperature in K.
        timestep_fs: integration time step in fs.
        n_equil: number of equilibration steps that are not stored (>= 0).
        n_frames: number of frames to return (>= 1).
        stride: MD steps between stored frames (>= 1).
        seed: seed of the random number generator.
        method: tblite Hamiltonian (``"GFN2-xTB"`` or ``"GFN1-xTB"``).
        friction_per_fs: Langevin friction coefficient in 1/fs.
        charge, multiplicity: of the molecule, passed to tblite (None: tblite's default,
            neutral and the lowest multiplicity).

    Returns:
        ``n_frames`` new :class:`ase.Atoms` (numbers and positions only, no calculator)
        whose ``arrays["xtb_forces"]`` holds the GFN2-xTB forces (eV/Å, without the
        centre-of-mass constraint) and whose ``info`` holds ``frame`` (0-based index), ``step`` (MD steps since the start,
        equilibration included), ``time_fs``, ``xtb_energy_eV`` (potential energy) and
        ``kinetic_temperature_K``.

    Raises:
        RuntimeError: if tblite fails, or if a bond breaks or forms (the covalent topology,
            see :data:`SAMPLING_BOND_FACTOR`, differs from that of ``atoms``); the message
            names the frame and MD step.
    """
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, ZeroRotation
    from tblite.ase import TBLite

    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # ase < 3.29
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

    if n_equil < 0 or n_frames < 1 or stride < 1:
        raise ValueError(
            f"need n_equil >= 0, n_frames >= 1, stride >= 1; got {n_equil}, {n_frames}, {stride}"
        )
    if temperature_K <= 0 or timestep_fs <= 0 or friction_per_fs <= 0:
        raise ValueError("temperature_K, timestep_fs and friction_per_fs must be positive")

    rng = np.random.default_rng(seed)
    system = ase.Atoms(atoms.numbers, atoms.positions)
    system.set_constraint(FixCom())
    electrons = {
        key: value
        for key, value in (("charge", charge), ("multiplicity", multiplicity))
        if value is not None
    }
    system.calc = TBLite(method=method, verbosity=0, **electrons)
    thermalize_momenta(system, temperature_K=temperature_K, rng=rng)
    Stationary(system)
    ZeroRotation(system)
    dynamics = Langevin(
        system,
        timestep=timestep_fs * units.fs,
        temperature_K=temperature_K,
        friction=friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    reference_bonds = _bonds(system)

    def advance(n_steps: int, frame: int | str) -> None:
        try:
            dynamics.run(n_steps)
        except Exception as err:
            raise RuntimeError(
                f"{method} MD failed before frame {frame} (MD step {dynamics.nsteps}): {err}"
            ) from err

    frames = []
    with one_openmp_thread():
        advance(n_equil, "0 (equilibration)")
        for frame in range(n_frames):
            advance(stride, frame)
            if not np.array_equal(_bonds(system), reference_bonds):
                raise RuntimeError(
                    f"covalent topology changed at frame {frame} (MD step {dynamics.nsteps}, "
                    f"{temperature_K} K): a bond broke or formed; lower the temperature"
                )
            snapshot = ase.Atoms(system.numbers, system.positions)
            snapshot.info.update(
                frame=frame,
                step=int(dynamics.nsteps),
                time_fs=float(dynamics.nsteps * timestep_fs),
                xtb_energy_eV=float(system.get_potential_energy()),
                kinetic_temperature_K=float(system.get_temperature()),
            )
            # the unconstrained forces (FixCom removes their sum from get_forces())
            snapshot.arrays["xtb_forces"] = system.get_forces(apply_constraint=False).copy()
            frames.append(snapshot)
    return frames


def split_frames(n_dft: int, n_cc: int) -> dict[str, np.ndarray]:
    """Disjoint frame indices for the two levels of theory (rule: :data:`FRAME_SELECTION`).

    CC frames are spread evenly over the whole trajectory, so both sets sample the same
    distribution while no configuration is labelled twice.

    Args:
        n_dft: number of DFT frames (>= 0).
        n_cc: number of CC frames (>= 0).

    Returns:
        ``{"dft": (n_dft,), "cc": (n_cc,)}`` sorted int64 indices into the
        ``n_dft + n_cc`` sampled frames; together they are ``0 .. n_dft + n_cc - 1``.
    """
    if n_dft < 0 or n_cc < 0:
        raise ValueError(f"frame counts must be >= 0, got n_dft={n_dft}, n_cc={n_cc}")
    n_total = n_dft + n_cc
    cc = ((np.arange(n_cc) + 0.5) * n_total / max(n_cc, 1)).astype(np.int64)
    dft = np.setdiff1d(np.arange(n_total, dtype=np.int64), cc)
    return {"dft": dft, "cc": cc}


@dataclass(frozen=True)
class _Settings:
    method: str
    basis: str
    frozen_core: bool
    conv_tol: float
    cc_conv_tol: float
    grid_level: int
    max_memory_mb: int
    charge: int
    cartesian: bool = False
    density_fit: bool = False


def _canonical_method(method: str) -> str:
    """Upper-case name of a wavefunction method, or the xc string after checking it."""
    if method.upper() in WAVEFUNCTION_METHODS:
        return method.upper()
    from pyscf.dft import libxc

    try:
        libxc.parse_xc(method)
    except (KeyError, ValueError) as err:
        raise ValueError(
            f"unknown method {method!r}: use one of {WAVEFUNCTION_METHODS} or a PySCF "
            f"exchange-correlation functional such as 'PBE' ({err})"
        ) from None
    return method


def _mole(atoms: ase.Atoms, s: _Settings):
    from pyscf import gto

    mol = gto.M(
        atom=[
            (int(z), tuple(map(float, xyz)))
            for z, xyz in zip(atoms.numbers, atoms.positions, strict=True)
        ],
        unit="Angstrom",
        basis=s.basis,
        charge=s.charge,
        spin=None,
        cart=s.cartesian,
        max_memory=s.max_memory_mb,
        verbose=0,
    )
    if mol.nelectron % 2:
        raise ValueError(
            f"{atoms.get_chemical_formula()} with charge {s.charge} has an odd number of "
            "electrons; only restricted closed-shell calculations are supported"
        )
    return mol


def _scf(mol, s: _Settings, frame: int, retries: list[str]):
    """Converged RHF (wavefunction methods) or RKS object; one retry with second-order SCF."""
    from pyscf import dft, scf

    if s.method in WAVEFUNCTION_METHODS:
        mf = scf.RHF(mol)
    else:
        mf = dft.RKS(mol, xc=s.method)
        mf.grids.level = s.grid_level
    if s.density_fit:
        mf = mf.density_fit()
    mf.conv_tol = s.conv_tol
    mf.kernel()
    if mf.converged:
        return mf
    retries.append("SCF")
    soscf = mf.newton()
    soscf.kernel(mf.make_rdm1())
    if not soscf.converged:
        raise ConvergenceError("SCF", frame)
    return soscf.remove_soscf()


def _n_frozen(mol, s: _Settings) -> int:
    """Number of frozen (core) orbitals of a correlated calculation."""
    from pyscf.data.elements import chemcore

    return int(chemcore(mol)) if s.frozen_core else 0


def _ccsd(mf, s: _Settings, frame: int, retries: list[str]):
    from pyscf import cc

    mycc = cc.CCSD(mf, frozen=_n_frozen(mf.mol, s) or None)
    mycc.conv_tol = s.cc_conv_tol
    mycc.conv_tol_normt = np.sqrt(s.cc_conv_tol) / 10
    mycc.kernel()
    if not mycc.converged:
        retries.append("CCSD")
        mycc.max_cycle, mycc.diis_space = 200, 12
        mycc.kernel(mycc.t1, mycc.t2)
        if not mycc.converged:
            raise ConvergenceError("CCSD", frame)
    return mycc


def _lambda(mycc, eris, triples: bool, s: _Settings, frame: int, retries: list[str]):
    from pyscf.cc import ccsd_lambda, ccsd_t_lambda

    solver = ccsd_t_lambda if triples else ccsd_lambda
    converged, l1, l2 = solver.kernel(mycc, eris, mycc.t1, mycc.t2, tol=s.cc_conv_tol, verbose=0)
    if not converged:
        retries.append("lambda")
        converged, l1, l2 = solver.kernel(
            mycc, eris, mycc.t1, mycc.t2, l1, l2, max_cycle=200, tol=s.cc_conv_tol, verbose=0
        )
        if not converged:
            raise ConvergenceError("lambda", frame)
    return l1, l2


def _energy_gradient(
    atoms: ase.Atoms, s: _Settings, frame: int, want_gradient: bool, retries: list[str]
) -> tuple[float, np.ndarray | None, dict[str, int]]:
    """Total energy (Hartree), its nuclear gradient (Hartree/Bohr, or None) and sizes."""
    from pyscf import mp
    from pyscf.cc import ccsd_t
    from pyscf.grad import ccsd as ccsd_grad
    from pyscf.grad import ccsd_t as ccsd_t_grad

    mol = _mole(atoms, s)
    mf = _scf(mol, s, frame, retries)
    sizes = {"n_basis": int(mol.nao), "n_frozen": 0}
    if s.method == "MP2":
        sizes["n_frozen"] = _n_frozen(mol, s)
        solver = mp.MP2(mf, frozen=sizes["n_frozen"] or None)
        solver.kernel()
        energy = solver.e_tot
        gradient = solver.nuc_grad_method().kernel() if want_gradient else None
    elif s.method in ("CCSD", "CCSD(T)"):
        mycc = _ccsd(mf, s, frame, retries)
        sizes["n_frozen"] = int(mycc.frozen or 0)
        triples = s.method == "CCSD(T)"
        eris = mycc.ao2mo()
        energy = mycc.e_tot
        if triples:
            energy += ccsd_t.kernel(mycc, eris, mycc.t1, mycc.t2, verbose=0)
        gradient = None
        if want_gradient:
            l1, l2 = _lambda(mycc, eris, triples, s, frame, retries)
            grad_class = ccsd_t_grad.Gradients if triples else ccsd_grad.Gradients
            gradient = grad_class(mycc).kernel(mycc.t1, mycc.t2, l1, l2, eris=eris)
    else:
        energy = mf.e_tot
        gradient = mf.nuc_grad_method().kernel() if want_gradient else None
    return float(energy), gradient, sizes


def _settings(method: str, *args: Any, **kwargs: Any) -> _Settings:
    """The checked settings of one PySCF calculation (``args``, ``kwargs``: the fields of
    :class:`_Settings` after ``method``)."""
    s = _Settings(_canonical_method(method), *args, **kwargs)
    if s.frozen_core and s.method not in ("MP2", "CCSD", "CCSD(T)"):
        raise ValueError(f"frozen_core applies to MP2, CCSD and CCSD(T), not to {s.method!r}")
    if s.density_fit and s.method in ("MP2", "CCSD", "CCSD(T)"):
        raise ValueError(f"density_fit applies to the SCF of HF and DFT, not to {s.method!r}")
    return s


def label_pyscf(
    atoms_list: Sequence[ase.Atoms],
    method: str,
    basis: str,
    *,
    frozen_core: bool = False,
    conv_tol: float = 1e-10,
    cc_conv_tol: float = 1e-8,
    grid_level: int = 3,
    max_memory_mb: int = 2000,
    n_threads: int | None = None,
    charge: int = 0,
    on_failure: Literal["raise", "drop"] = "raise",
    forces: bool = True,
    cartesian: bool = False,
    density_fit: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Energies and analytic forces (or energies only) of structures with PySCF.

    Every structure is computed independently from the default initial guess, so the
    labels do not depend on the order or grouping of ``atoms_list``.

    Args:
        atoms_list: structures (positions in Å); ``atoms.info["frame"]``, if present, is
            the frame index used in messages and in ``info``.
        method: ``"HF"``, ``"MP2"``, ``"CCSD"``, ``"CCSD(T)"`` (on top of RHF), or a PySCF
            exchange-correlation functional for restricted Kohn-Sham DFT (e.g. ``"PBE"``).
        basis: a PySCF basis set name, e.g. ``"6-31G"`` or ``"cc-pVDZ"``.
        frozen_core: freeze the core orbitals (:func:`pyscf.data.elements.chemcore`) in
            MP2/CC; not allowed for HF/DFT.
        conv_tol: SCF energy convergence threshold in Hartree.
        cc_conv_tol: CC energy convergence threshold in Hartree; the amplitude-norm
            threshold is ``sqrt(cc_conv_tol) / 10`` and the lambda threshold ``cc_conv_tol``.
        grid_level: PySCF DFT integration grid level (0-9).
        max_memory_mb: memory PySCF may use, in MB.
        n_threads: OpenMP threads of PySCF (``None``: leave PySCF's setting).
        charge: total charge of every structure.
        on_failure: if a convergence failure persists after one retry (second-order SCF;
            200 CC/lambda iterations), ``"raise"`` a :class:`ConvergenceError` naming the
            frame, or ``"drop"`` the structure: its energy and forces are NaN and it is
            listed in ``info["failures"]``.
        forces: compute analytic forces (False: energies only, ``forces`` is None).
        cartesian: Cartesian d (and f) functions (``cart=True`` in PySCF), the Gaussian
            "6D" convention of Pople bases that ANI-1x and COMP6 used for 6-31G(d).
        density_fit: density fitting of the Coulomb and exchange integrals of the SCF
            (HF and DFT only; PySCF's default auxiliary basis for the orbital basis).

    Returns:
        ``(energies, forces, info)``: energies (M,) in eV, forces (A, 3) in eV/Å with the
        atoms of all structures back to back (None with ``forces=False``), and a
        JSON-serialisable ``info`` with the settings (``method``, ``basis``, ``xc``,
        ``frozen_core``, thresholds), per-structure ``frames``, ``n_basis``,
        ``n_frozen_orbitals``, ``wall_s`` and ``cpu_s``, the ``retries`` and ``failures``
        (each with ``index``, ``frame``, ``stage``).
    """
    from pyscf import lib

    if on_failure not in ("raise", "drop"):
        raise ValueError(f"on_failure must be 'raise' or 'drop', got {on_failure!r}")
    s = _settings(
        method,
        basis,
        frozen_core,
        conv_tol,
        cc_conv_tol,
        grid_level,
        max_memory_mb,
        charge,
        cartesian,
        density_fit,
    )
    if n_threads is not None:
        lib.num_threads(n_threads)
    n_atoms = [len(atoms) for atoms in atoms_list]
    energies = np.full(len(atoms_list), np.nan)
    want_forces = forces
    forces = np.full((sum(n_atoms), 3), np.nan) if want_forces else None
    offsets = np.concatenate([[0], np.cumsum(n_atoms)]).astype(int)
    info: dict[str, Any] = {
        "method": s.method,
        "basis": basis,
        "xc": None if s.method in WAVEFUNCTION_METHODS else s.method,
        "frozen_core": frozen_core,
        "scf_conv_tol_hartree": conv_tol,
        "cc_conv_tol_hartree": cc_conv_tol if s.method in ("CCSD", "CCSD(T)") else None,
        "dft_grid_level": None if s.method in WAVEFUNCTION_METHODS else grid_level,
        "cartesian": cartesian,
        "density_fit": density_fit,
        "forces": want_forces,
        "n_threads": lib.num_threads(),
        "frames": [],
        "n_basis": [],
        "n_frozen_orbitals": [],
        "wall_s": [],
        "cpu_s": [],
        "retries": [],
        "failures": [],
    }
    for index, atoms in enumerate(atoms_list):
        frame = int(atoms.info.get("frame", index))
        wall, cpu = time.perf_counter(), time.process_time()
        retries: list[str] = []
        sizes = {"n_basis": -1, "n_frozen": -1}
        try:
            energy, gradient, sizes = _energy_gradient(atoms, s, frame, want_forces, retries)
        except ConvergenceError as err:
            if on_failure == "raise":
                raise
            info["failures"].append({"index": index, "frame": frame, "stage": err.stage})
            _log.warning("%s; dropping frame %d", err, frame)
        else:
            energies[index] = energy * units.Hartree
            if want_forces:
                forces[offsets[index] : offsets[index + 1]] = -gradient * HARTREE_PER_BOHR
        info["retries"] += [{"index": index, "frame": frame, "stage": r} for r in retries]
        info["frames"].append(frame)
        info["n_basis"].append(sizes["n_basis"])
        info["n_frozen_orbitals"].append(sizes["n_frozen"])
        info["wall_s"].append(round(time.perf_counter() - wall, 3))
        info["cpu_s"].append(round(time.process_time() - cpu, 3))
        _log.info(
            "frame %d (%d/%d): %s/%s E = %.6f eV, %.1f s wall, %.1f s CPU%s",
            frame,
            index + 1,
            len(atoms_list),
            s.method,
            basis,
            energies[index],
            info["wall_s"][-1],
            info["cpu_s"][-1],
            f", retried {retries}" if retries else "",
        )
    return energies, forces, info


def finite_difference_forces(
    atoms: ase.Atoms,
    method: str,
    basis: str,
    components: Sequence[tuple[int, int]],
    *,
    step_A: float = 1e-3,
    frozen_core: bool = False,
    conv_tol: float = 1e-11,
    cc_conv_tol: float = 1e-10,
    grid_level: int = 3,
    max_memory_mb: int = 2000,
    charge: int = 0,
) -> np.ndarray:
    """Forces from central finite differences of the energy, to validate analytic forces.

    ``F[a, x] = -(E(r + h e_ax) - E(r - h e_ax)) / 2h`` with ``h = step_A``; the
    truncation error is O(h^2). Use tighter thresholds than for production labels, since
    the convergence error of the energies is divided by 2h.

    Args:
        atoms: the structure (positions in Å).
        method, basis, frozen_core, grid_level, max_memory_mb, charge: as in
            :func:`label_pyscf`.
        components: ``(atom, axis)`` pairs to differentiate (axis 0, 1, 2 = x, y, z).
        step_A: displacement in Å.
        conv_tol, cc_conv_tol: SCF and CC energy convergence thresholds in Hartree.

    Returns:
        (len(components),) forces in eV/Å.
    """
    s = _settings(
        method, basis, frozen_core, conv_tol, cc_conv_tol, grid_level, max_memory_mb, charge
    )
    frame = int(atoms.info.get("frame", 0))
    result = np.empty(len(components))
    for k, (atom, axis) in enumerate(components):
        energies = []
        for sign in (1.0, -1.0):
            displaced = atoms.copy()
            displaced.positions[atom, axis] += sign * step_A
            energies.append(_energy_gradient(displaced, s, frame, False, [])[0])
        result[k] = -(energies[0] - energies[1]) / (2 * step_A) * units.Hartree
    return result


def provenance() -> dict[str, str]:
    """Versions of Python and the packages that generate the data (``"missing"`` if absent)."""
    versions = {"python": platform.python_version()}
    for package in _PROVENANCE_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


def label_cost(infos: Sequence[Mapping], forces: bool = True) -> dict:
    """The measured cost of every label of a level (from the chunks' infos of
    :func:`label_pyscf`): CPU and wall seconds per label, in frame order, with their
    mean, median and maximum. A label is an energy and its gradient (``forces``) or an
    energy alone; each ran on ``n_threads`` OpenMP threads (one entry per chunk)."""
    cpu = [t for info in infos for t in info["cpu_s"]]
    wall = [t for info in infos for t in info["wall_s"]]
    return {
        "label": "energy and gradient" if forces else "energy",
        "unit": "s per label",
        "n_threads": [info.get("n_threads") for info in infos],
        "frames": [f for info in infos for f in info.get("frames", [])],
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_s_mean": round(float(np.mean(cpu)), 3),
        "cpu_s_median": round(float(np.median(cpu)), 3),
        "cpu_s_max": round(float(np.max(cpu)), 3),
        "wall_s_mean": round(float(np.mean(wall)), 3),
    }


_CHUNK_ARRAYS = ("numbers", "positions", "n_atoms", "energy", "forces", "frames")


def merge_chunks(
    chunks: Sequence[str | os.PathLike | Mapping],
    record: Mapping,
    level: str,
    source: str | None = None,
):
    """The labelled chunks of one level of theory -> one :class:`~gmnn.data.Structures`.

    Args:
        chunks: the chunks in order, each an ``.npz`` path or a mapping of arrays as written
            by the ``embedded_label`` rule: ``numbers``, ``positions``, ``n_atoms``,
            ``energy``, ``forces`` (NaN for a structure that failed to converge),
            ``frames`` (indices in the sampled trajectory) and ``info`` (the JSON string
            of :func:`label_pyscf`'s info with ``code_versions`` added).
        record: the sampling record (``frames.json`` of ``embedded_sample``): ``molecule``,
            ``frames`` (level -> frame indices), ``sampling``, ``code_versions``,
            ``frame_selection``, ``wall_s``.
        level: ``"dft"`` or ``"cc"`` (a key of ``record["frames"]``).
        source: stored as ``meta["source"]`` (the output file).

    Returns:
        The structures with finite labels; ``ids`` are the frame indices. Those dropped
        while labelling (NaN labels) are left out and listed in ``meta["dropped"]``; the
        metadata records the level of theory, code versions, wall times, the measured
        cost of every label (``label_cost``, :func:`label_cost`) and, if the record has
        it, the starting geometry (``start``). Chunks labelled without forces (info
        ``forces`` false) give structures without forces.

    Raises:
        ValueError: if the chunks disagree on a setting (method, basis, ...), a structure
            has a finite energy but non-finite forces, or the chunks do not hold exactly
            the level's frames of the sampling record.
    """
    if not chunks:
        raise ValueError(f"no chunks to merge for level {level!r}")
    arrays, infos = [], []
    for chunk in chunks:
        if isinstance(chunk, Mapping):
            data = chunk
        else:
            with np.load(chunk) as npz:
                data = {k: npz[k] for k in npz.files}
        arrays.append({k: np.asarray(data[k]) for k in _CHUNK_ARRAYS})
        infos.append(json.loads(str(data["info"])))

    def joined(key):
        return np.concatenate([a[key] for a in arrays])

    def unique(key):
        """The value of an info entry, which must be the same in every chunk."""
        values = {json.dumps(info[key], sort_keys=True) for info in infos}
        if len(values) != 1:
            raise ValueError(f"chunks of level {level!r} disagree on {key}: {sorted(values)}")
        return infos[0][key]

    def unique_default(key, default):
        """:func:`unique` for an entry that older chunks lack (``default`` there)."""
        values = {json.dumps(info.get(key, default)) for info in infos}
        if len(values) != 1:
            raise ValueError(f"chunks of level {level!r} disagree on {key}: {sorted(values)}")
        return infos[0].get(key, default)

    n_atoms, energy, forces = joined("n_atoms"), joined("energy"), joined("forces")
    keep = np.isfinite(energy)
    atom_keep = np.repeat(keep, n_atoms)
    with_forces = unique_default("forces", True)
    if with_forces and not np.isfinite(forces[atom_keep]).all():
        raise ValueError(f"level {level!r}: finite energy with non-finite forces in a chunk")
    frames = joined("frames")
    if not np.array_equal(frames, record["frames"][level]):
        raise ValueError(
            f"the chunks do not hold exactly the {level} frames of the sampling record"
        )

    wall = [t for info in infos for t in info["wall_s"]]
    cpu = [t for info in infos for t in info["cpu_s"]]
    level_of_theory = f"{unique('method')}/{unique('basis')}"
    if unique("frozen_core"):
        level_of_theory += " (frozen core)"
    meta = {
        "source": source,
        "format": "gmnn-embedded",
        "name": f"{record['molecule']}_{level}",
        "molecule": record["molecule"],
        "level": level,
        "level_of_theory": level_of_theory,
        "method": unique("method"),
        "basis": unique("basis"),
        "xc": unique("xc"),
        "frozen_core": unique("frozen_core"),
        "n_frozen_orbitals": sorted(
            {n for info in infos for n in info["n_frozen_orbitals"] if n >= 0}
        ),
        "n_basis_functions": sorted({n for info in infos for n in info["n_basis"] if n >= 0}),
        "scf_conv_tol_hartree": unique("scf_conv_tol_hartree"),
        "cc_conv_tol_hartree": unique("cc_conv_tol_hartree"),
        "dft_grid_level": unique("dft_grid_level"),
        "code_versions": unique("code_versions"),
        "sampling": record["sampling"],
        "sampling_code_versions": record["code_versions"],
        "frame_selection": record["frame_selection"],
        "ids": "frame index in the sampled trajectory (0-based, after equilibration)",
        "dropped": [f for info in infos for f in info["failures"]],
        "retried": [r for info in infos for r in info["retries"]],
        "wall_time_s": {
            "sampling": record["wall_s"],
            "labelling_sum": round(sum(wall), 1),
            "labelling_cpu_sum": round(sum(cpu), 1),
            "labelling_mean_per_structure": round(float(np.mean(wall)), 2),
            "labelling_max_per_structure": round(float(np.max(wall)), 2),
        },
        "n_chunks": len(chunks),
        "units": {"energy": "eV", "forces": "eV/Angstrom", "positions": "Angstrom"},
        "label_cost": label_cost(infos, with_forces),
    }
    if "start" in record:  # the starting geometry (gmnn.refdata.molecules.sample)
        meta["start"] = record["start"]
    structures = Structures(
        numbers=joined("numbers")[atom_keep],
        positions=joined("positions")[atom_keep],
        n_atoms=n_atoms[keep],
        energy=energy[keep],
        forces=forces[atom_keep] if with_forces else None,
        ids=frames[keep],
        meta=meta,
    )
    _log.info(
        "%s: %d structures (%d dropped), %s, labelling %.0f s (sum over structures)",
        source or f"{record['molecule']}_{level}",
        int(keep.sum()),
        int((~keep).sum()),
        level_of_theory,
        sum(wall),
    )
    return structures
