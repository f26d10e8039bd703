"""Rule `aggregate`: per-model metrics.json -> tidy Fig. 2 tables (mean and SEM over seeds)."""

from gmnn.analysis.aggregate import DFT_REFERENCE, LEARNING_CURVES, fig2_tables
from gmnn.workflow import job

job(snakemake)
curves, reference = fig2_tables(snakemake.input.runs, snakemake.input.pretrain)
LEARNING_CURVES.write(curves, snakemake.output.curves)
DFT_REFERENCE.write(reference, snakemake.output.reference)
