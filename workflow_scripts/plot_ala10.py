"""Rule `fig_ala10`: draw Fig. 7 (gas phase) or Fig. 8 (in water), RMSD to the initial
helix against time, from the phase's per-run tables (the rows of the tidy tables); the
backbone snapshots as insets."""

from gmnn.analysis.ala10 import backbone_traces, collect
from gmnn.plots import save_figure
from gmnn.plots.ala10 import plot_ala10_rmsd
from gmnn.workflow import job

log = job(snakemake)
inp, p = snakemake.input, snakemake.params
tables = collect(inp.series, inp.runs, inp.structures)  # the phase's runs
structures = backbone_traces(tables.structures, p.phase)
fig = plot_ala10_rmsd(
    tables.series,
    tables.runs,
    p.phase,
    models=tuple(p.models),
    titles=dict(p.titles),
    structures=structures,
)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
log.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
