"""Rule `fig6`: draw Fig. 6 (MD17 errors vs ANI-1x pre-training set size) from the tidy
table."""

from gmnn.plots import save_figure
from gmnn.plots.ani import plot_fig6
from gmnn.workflow import job

log = job(snakemake)
fig = plot_fig6(snakemake.input[0], names=dict(snakemake.params.names))
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
log.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
