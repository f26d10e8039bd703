"""Rule `bond_analysis` (Figs. S1, S2): bond-length histograms of the coupled-cluster data,
rigid scans of one bond of each kind with several potentials, harmonic wavenumbers
(gmnn.analysis.bonds.bond_analysis).

params.models: one mapping per potential, {"setting": str, "n_train": int, "model": the
model directory}; input.models lists their files (dependency tracking only).
"""

from gmnn.workflow import finish, job

job(snakemake, tf=True)

from gmnn.analysis.bonds import FREQUENCIES, HISTOGRAMS, SCANS, bond_analysis  # noqa: E402

p, out = snakemake.params, snakemake.output
tables = bond_analysis(snakemake.input.data, p.molecule, p.models, p.bond_scan)
HISTOGRAMS.write(tables.histograms, out.histograms)
SCANS.write(tables.scans, out.scans)
FREQUENCIES.write(tables.frequencies, out.frequencies)
finish()  # leave without the interpreter's teardown (gmnn.workflow.finish)
