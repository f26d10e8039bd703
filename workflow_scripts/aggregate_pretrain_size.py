"""Rule `aggregate_pretrain_size`: metrics.json of every Fig. 3 run -> tidy table.

params.n_pretrain: the pre-training set size of each input, in the order of input.runs.
"""

from gmnn.analysis.aggregate import PRETRAIN_SIZE, fig3_table
from gmnn.workflow import job

job(snakemake)
table = fig3_table(snakemake.input.runs, snakemake.params.n_pretrain)
PRETRAIN_SIZE.write(table, snakemake.output[0])
