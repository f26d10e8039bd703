"""Rule `fig3`: draw Fig. 3 (errors vs pre-training set size) from the tidy tables."""

from gmnn.plots import plot_pretrain_size, save_figure
from gmnn.workflow import job

log = job(snakemake)
fig = plot_pretrain_size(snakemake.input.table, snakemake.input.fig2_curves)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
log.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
