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

from gmnn.analysis.aggregate import write_table  # noqa: E402
from gmnn.analysis.bonds import (  # noqa: E402
    bonded_pairs,
    distance_histogram,
    pair_distances,
    scan_bond,
)
from gmnn.analysis.metrics import predict_geometries  # noqa: E402
from gmnn.data import read_h5  # noqa: E402
from gmnn.io import load_model  # noqa: E402
from gmnn.units import ev_to_kcal_mol  # noqa: E402

inp, out, p = snakemake.input, snakemake.output, snakemake.params
cfg, molecule = p.bond_scan, p.molecule
data = read_h5(inp.data)
numbers, positions = data.molecule_arrays()
ref = data.lowest_energy()
log.info("%s: %d structures, reference structure %d", inp.data, len(data), ref)

histograms, scans, frequencies = [], [], []
bonds = {}  # bond -> its atom pairs in the reference structure
for bond in cfg["ranges_A"]:
    pairs = bonded_pairs(numbers, positions[ref], *bond.split("-"))
    if len(pairs) == 0:
        log.warning("%s has no %s bond: skipped", molecule, bond)
        continue
    bonds[bond] = pairs
    d = pair_distances(positions, pairs)
    for row in distance_histogram(d, bins=cfg["histogram_bins"]):
        histograms.append({"molecule": molecule, "bond": bond, "n_bonds": len(pairs), **row})
    log.info("%s: %d bonds, %.3f-%.3f A in the data", bond, len(pairs), d.min(), d.max())

for (setting, n_train), model_json in zip(p.models, inp.models[::2], strict=True):
    model = load_model(Path(model_json).parent)
    for bond, pairs in bonds.items():
        lo, hi = cfg["ranges_A"][bond]
        scan = scan_bond(
            lambda z, geometries, model=model: predict_geometries(model, z, geometries),
            numbers,
            positions[ref],
            pairs[0],
            np.linspace(lo, hi, cfg["points"]),
            window=cfg["fit_window_A"],
        )
        model_keys = {"molecule": molecule, "bond": bond, "setting": setting, "n_train": n_train}
        atoms = "-".join(str(int(x)) for x in pairs[0])
        for x, e in zip(scan["distance_A"], ev_to_kcal_mol(scan["energy_rel_eV"]), strict=True):
            scans.append({**model_keys, "atoms": atoms, "distance_A": x, "energy_rel_kcal_mol": e})
        frequencies.append({**model_keys, **scan["fit"]})
        log.info("%s %s n=%d: %s", bond, setting, n_train, scan["fit"])

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
