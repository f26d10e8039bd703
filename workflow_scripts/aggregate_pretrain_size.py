"""Rule `aggregate_pretrain_size`: metrics.json of every Fig. 3 run -> tidy table."""

import logging

from gmnn.analysis.aggregate import (
    METRICS,
    aggregate,
    load_records,
    units_comment,
    write_table,
)

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
records = load_records(snakemake.input.runs)
for record, n_pretrain in zip(records, snakemake.params.n_pretrain, strict=True):
    record["n_pretrain"] = int(n_pretrain)
keys = ("molecule", "setting", "n_train", "n_pretrain")
rows = aggregate(records, by=keys)
columns = [*keys, "n_seeds"] + [f"{m}_{s}" for m in METRICS for s in ("mean", "sem")]
write_table(
    rows,
    snakemake.output[0],
    columns,
    [
        "Fig. 3: coupled-cluster test errors of fine-tuned models by pre-training set size "
        "(n_pretrain DFT structures) and fine-tuning set size (n_train)"
    ]
    + units_comment(),
)
logging.info("%s: %d rows", snakemake.output[0], len(rows))
