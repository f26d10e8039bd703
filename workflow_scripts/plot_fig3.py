"""Rule `fig3`: draw Fig. 3 (errors vs pre-training set size) from the tidy tables."""

import logging

from gmnn.plots import plot_pretrain_size, save_figure
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
fig = plot_pretrain_size(snakemake.input.table, snakemake.input.fig2_curves)
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
