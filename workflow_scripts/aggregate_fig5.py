"""Rule `aggregate_fig5`: metrics JSON of every ANI-1ccx run (scratch_E, finetune_E) ->
tidy Fig. 5 table (mean and SEM over seeds per setting, n_pretrain, n_train)."""

from gmnn.analysis.aggregate import load_records
from gmnn.analysis.ani import ani_tables, fig5_table
from gmnn.workflow import job

log = job(snakemake)
table = fig5_table(load_records(snakemake.input.metrics))
if (table["n_seeds"] < 2).any():
    log.warning("groups with a single seed: their standard errors are NaN")
ani_tables(snakemake.params.names).fig5.write(table, snakemake.output[0])
