"""Rule `fig5`: draw Fig. 5 (ANI-1ccx learning curves) from the tidy table."""

import logging

from gmnn.plots import save_figure
from gmnn.plots.ani import plot_fig5
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
fig = plot_fig5(snakemake.input[0])
save_figure(fig, [snakemake.output.pdf, snakemake.output.png])
logging.info("wrote %s and %s", snakemake.output.pdf, snakemake.output.png)
