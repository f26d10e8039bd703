"""Rule `aggregate_fig6`: metrics JSON of the Fig. 6 runs -> tidy table with a role column.

input.finetuned: MD17 models fine-tuned from ANI-1x models of several pre-training sizes
(finetune_E, finetune_EF, finetune_nd_E, finetune_nd_EF); input.scratch: the Fig. 2
from-scratch models at the same n_train; input.pretrained: evaluate_pretrained_md17
records of the pre-trained model (one per seed).
"""

from gmnn.analysis.ani import ani_tables, fig6_table_from_files
from gmnn.workflow import job

log = job(snakemake)
inp = snakemake.input
table = fig6_table_from_files(inp.finetuned, inp.scratch, inp.pretrained)
if (table["n_seeds"] < 2).any():
    log.warning("groups with a single seed: their standard errors are NaN")
ani_tables(snakemake.params.names).fig6.write(table, snakemake.output[0])
