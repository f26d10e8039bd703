"""Rule `fig2`: draw Fig. 2 from the tidy tables (no models or data needed)."""

import logging

from gmnn.plots import plot_learning_curves, save_figure
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
fig = plot_learning_curves(snakemake.input.curves, snakemake.input.reference)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
