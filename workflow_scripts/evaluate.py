"""Rule `evaluate_pretrain`: test errors of one pre-trained model -> metrics.json.

The test set is the split's test part of the input data; errors in kcal/mol and
kcal/mol/Angstrom (gmnn.analysis.error_metrics), forces included.
"""

from pathlib import Path

from gmnn.workflow import job

log = job(snakemake, tf=True, append=False)

from gmnn.io import atomic_write_json  # noqa: E402
from gmnn.workflow import evaluate_on_split  # noqa: E402

inp = snakemake.input
record = evaluate_on_split(
    Path(inp.model_json).parent, inp.data, inp.split, dict(snakemake.params.record), log
)
atomic_write_json(snakemake.output[0], record)
log.info(
    "%s: energy RMSE %.3f, force RMSE %.3f",
    snakemake.output[0],
    record["energy_rmse"],
    record["force_rmse"],
)
