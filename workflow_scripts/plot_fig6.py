"""Rule `fig6`: draw Fig. 6 (MD17 errors vs ANI-1x pre-training set size) from the tidy
table."""

import logging

from gmnn.plots import save_figure
from gmnn.plots.ani import plot_fig6
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
fig = plot_fig6(snakemake.input[0])
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
