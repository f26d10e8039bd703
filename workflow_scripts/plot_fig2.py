"""Rule `fig2`: draw Fig. 2 from the tidy tables (no models or data needed)."""

from gmnn.plots import plot_learning_curves, save_figure
from gmnn.workflow import job

log = job(snakemake)
fig = plot_learning_curves(snakemake.input.curves, snakemake.input.reference)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
log.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
