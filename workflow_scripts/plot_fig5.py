"""Rule `fig5`: draw Fig. 5 (ANI-1ccx learning curves) from the tidy table."""

from gmnn.plots import save_figure
from gmnn.plots.ani import plot_fig5
from gmnn.workflow import job

log = job(snakemake)
fig = plot_fig5(snakemake.input[0], names=dict(snakemake.params.names))
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
log.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
