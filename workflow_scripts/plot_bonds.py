"""Rule `bond_figure` (Figs. S1, S2, as configured under figures.bonds): bond-length
histogram and 1D energy scans.

params: bond ("O-H" or "C-H"), molecule (optional: the only one in the tables).
output: pdf, png, table (Markdown table of the harmonic wavenumbers for that bond).
"""

from gmnn.io import atomic_write_text
from gmnn.plots import frequency_table_markdown, plot_bond_analysis, save_figure
from gmnn.workflow import job

log = job(snakemake)
bond = snakemake.params.bond
molecule = getattr(snakemake.params, "molecule", None)
fig = plot_bond_analysis(
    snakemake.input.histograms,
    snakemake.input.scans,
    snakemake.input.frequencies,
    bond,
    molecule=molecule,
)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
text = frequency_table_markdown(snakemake.input.frequencies, molecule=molecule, bonds=[bond])
atomic_write_text(snakemake.output.table, text)
log.info("wrote %s, %s and %s", snakemake.output.pdf, snakemake.output.png, snakemake.output.table)
