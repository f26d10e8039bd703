"""Rule `aggregate`: per-model metrics.json -> tidy Fig. 2 tables (mean and SEM over seeds)."""

import logging

from gmnn.analysis.aggregate import DFT_REFERENCE, LEARNING_CURVES, fig2_tables
from gmnn.workflow import error_boundary

error_boundary(snakemake.log[0])
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
curves, reference = fig2_tables(snakemake.input.runs, snakemake.input.pretrain)
LEARNING_CURVES.write(curves, snakemake.output.curves)
DFT_REFERENCE.write(reference, snakemake.output.reference)
