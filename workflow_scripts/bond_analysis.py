"""Rule `bond_analysis` (Figs. S1, S2): bond-length histograms of the coupled-cluster data,
rigid scans of one bond of each kind with four potentials, harmonic wavenumbers.

The reference geometry is the lowest-energy structure of the coupled-cluster data (the
MD start structure); the scanned bond is the first bond of its kind there. Energies are
relative to each curve's lowest point, in kcal/mol.
"""

from pathlib import Path

import numpy as np

from gmnn.workflow import start_job

log = start_job(snakemake.log[0], snakemake.threads)

from ase import Atoms  # noqa: E402

from gmnn.analysis import predict  # noqa: E402
from gmnn.analysis.aggregate import write_table  # noqa: E402
from gmnn.analysis.bonds import (  # noqa: E402
    bonded_pairs,
    distance_histogram,
    harmonic_frequency,
    pair_distances,
    stretch_scan,
)
from gmnn.data import Structures, read_h5  # noqa: E402
from gmnn.io import load_model  # noqa: E402
from gmnn.units import ev_to_kcal_mol  # noqa: E402

inp, out, p = snakemake.input, snakemake.output, snakemake.params
cfg, molecule = p.bond_scan, p.molecule
data = read_h5(inp.data)
n_atoms = np.asarray(data.n_atoms)
if np.any(n_atoms != n_atoms[0]):
    raise ValueError(f"{inp.data}: structures of different sizes; one molecule expected")
positions = np.asarray(data.positions).reshape(len(data), int(n_atoms[0]), 3)
numbers = np.asarray(data.numbers[: n_atoms[0]])
ref = int(np.nanargmin(data.energy))
log.info("%s: %d structures, reference structure %d", inp.data, len(data), ref)

histograms, scans, frequencies = [], [], []
bonds = {}
for bond in cfg["ranges_A"]:
    a, b = bond.split("-")
    pairs = bonded_pairs(numbers, positions[ref], a, b)
    if len(pairs) == 0:
        log.warning("%s has no %s bond: skipped", molecule, bond)
        continue
    bonds[bond] = (a, b, pairs)
    d = pair_distances(positions, pairs)
    for row in distance_histogram(d, bins=cfg["histogram_bins"]):
        histograms.append({"molecule": molecule, "bond": bond, "n_bonds": len(pairs), **row})
    log.info("%s: %d bonds, %.3f-%.3f A in the data", bond, len(pairs), d.min(), d.max())

model_files = iter(inp.models)
for setting, n_train in p.models:
    model_dir = Path(next(model_files)).parent
    next(model_files)  # weights.npz
    model = load_model(model_dir)
    for bond, (a, b, pairs) in bonds.items():
        lo, hi = cfg["ranges_A"][bond]
        r = np.linspace(lo, hi, cfg["points"])
        i, j = (int(x) for x in pairs[0])
        geometries = stretch_scan(positions[ref], i, j, r)
        structures = Structures.from_ase(
            [Atoms(numbers=numbers, positions=g) for g in geometries], energy=False, forces=False
        )
        energy = predict(model, structures, forces=False)["energy"].astype(float)
        rel = ev_to_kcal_mol(energy - energy.min())
        for x, e in zip(r, rel, strict=True):
            scans.append(
                {
                    "molecule": molecule,
                    "bond": bond,
                    "setting": setting,
                    "n_train": n_train,
                    "atoms": f"{i}-{j}",
                    "distance_A": x,
                    "energy_rel_kcal_mol": e,
                }
            )
        try:
            fit = {**harmonic_frequency(r, energy, a, b, window=cfg["fit_window_A"]), "note": ""}
        except ValueError as err:  # e.g. no minimum inside the scanned range: recorded
            fit = {"wavenumber_cm1": float("nan"), "note": str(err)}
        frequencies.append(
            {"molecule": molecule, "bond": bond, "setting": setting, "n_train": n_train, **fit}
        )
        log.info(
            "%s %s n=%d: %.0f cm^-1 %s", bond, setting, n_train, fit["wavenumber_cm1"], fit["note"]
        )

write_table(
    histograms,
    out.histograms,
    ["molecule", "bond", "n_bonds", "bin_lo", "bin_hi", "count", "density"],
    [
        "Bond lengths (Angstrom) of every bond of the kind in the coupled-cluster data set; "
        "density integrates to 1"
    ],
)
write_table(
    scans,
    out.scans,
    ["molecule", "bond", "setting", "n_train", "atoms", "distance_A", "energy_rel_kcal_mol"],
    [
        "Rigid bond scans from the lowest-energy coupled-cluster structure: energy relative "
        "to the curve's lowest point (kcal/mol); n_train of pretrain = DFT structures"
    ],
)
write_table(
    frequencies,
    out.frequencies,
    [
        "molecule",
        "bond",
        "setting",
        "n_train",
        "wavenumber_cm1",
        "force_constant_eV_A2",
        "r0_A",
        "fit_lo_A",
        "fit_hi_A",
        "n_points",
        "rms_residual_eV",
        "note",
    ],
    [
        "Harmonic wavenumbers (cm^-1) from a quadratic fit E0 + k/2 (r - r0)^2 to the scan "
        "points within fit_window_A of the minimum; force constant k in eV/Angstrom^2; "
        "note: why a fit failed (then NaN)"
    ],
)
