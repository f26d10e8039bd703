"""Rules `evaluate` and `evaluate_pretrain`: test errors of one model -> metrics.json.

The test set is the split's test part of the input data; errors in kcal/mol and
kcal/mol/Angstrom (gmnn.analysis.error_metrics), forces evaluated for every setting.
"""

import math

from gmnn.workflow import start_job

log = start_job(snakemake.log[0], snakemake.threads, append=False)

from pathlib import Path  # noqa: E402

from gmnn.analysis import error_metrics  # noqa: E402
from gmnn.data import file_sha256, load_split, read_h5  # noqa: E402
from gmnn.io import atomic_write_json, load_model  # noqa: E402

inp, record = snakemake.input, dict(snakemake.params.record)
model_dir = Path(inp.model_json).parent
model = load_model(model_dir)
trained = model.provenance
if trained.get("n_train") != record["n_train"]:
    raise ValueError(
        f"{model_dir}: trained on {trained.get('n_train')} structures, expected {record['n_train']}"
    )
split = load_split(inp.split)
test = read_h5(inp.data)[split.test]
log.info("evaluating %s on %d %s test structures", model_dir, len(test), record["test_set"])
metrics = error_metrics(model, test)
training = {k: trained.get(k) for k in ("epochs_run", "best_epoch", "n_valid")}
# strict JSON: validation metrics a run lacks (E-only: forces) are left out, not NaN
best_valid = trained.get("best_valid") or {}
training["best_valid"] = {k: v for k, v in best_valid.items() if math.isfinite(v)}
record.update(metrics)
record.update(
    {
        "model": str(model_dir),
        "test_data": inp.data,
        "test_data_sha256": file_sha256(inp.data),
        "split": inp.split,
        "training": training,
    }
)
atomic_write_json(snakemake.output[0], record)
log.info("%s: %s", snakemake.output[0], metrics)
