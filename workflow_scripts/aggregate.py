"""Rule `aggregate`: per-model metrics.json -> tidy Fig. 2 tables (mean and SEM over seeds)."""

import logging

from gmnn.analysis.aggregate import (
    CURVE_COLUMNS,
    REFERENCE_COLUMNS,
    learning_curves,
    load_records,
    reference_errors,
    units_comment,
    write_table,
)

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
out = snakemake.output
curves = learning_curves(load_records(snakemake.input.runs))
reference = reference_errors(load_records(snakemake.input.pretrain))
write_table(
    curves,
    out.curves,
    CURVE_COLUMNS,
    ["Fig. 2 learning curves: coupled-cluster test errors by setting and training-set size"]
    + units_comment(),
)
write_table(
    reference,
    out.reference,
    REFERENCE_COLUMNS,
    [
        "Models pre-trained on DFT only: test_set cc = on coupled-cluster labels "
        "(Fig. 2, black line), dft = on the DFT test set; n_train = DFT training structures"
    ]
    + units_comment(),
)
if any(r["n_seeds"] < 2 for r in curves + reference):
    logging.warning("groups with a single seed: their standard errors are NaN")
logging.info("%s: %d rows; %s: %d rows", out.curves, len(curves), out.reference, len(reference))
