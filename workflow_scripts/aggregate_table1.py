"""Rule `aggregate_table1`: the COMP6 metrics JSON of every ANI-1x pre-trained model
(several training-set sizes x seeds) -> tidy Table 1 (mean and SEM over seeds).

params.paper: add the paper's Table 1 values (paper scale, where the subsets are COMP6's);
input.data with params.subsets: the COMP6 data files, for the zero-force baseline column.
"""

from gmnn.analysis.ani import ani_tables, table1_from_files
from gmnn.workflow import job

log = job(snakemake)
data = dict(zip(snakemake.params.subsets, snakemake.input.data, strict=True))
table = table1_from_files(snakemake.input.metrics, paper=bool(snakemake.params.paper), data=data)
if (table["n_seeds"] < 2).any():
    log.warning("Table 1 cells with a single seed: their standard errors are NaN")
ani_tables(snakemake.params.names).table1.write(table, snakemake.output.csv)
