"""Rule `pretrain`: fit a GM-NN on the DFT training split (energies and forces)."""

import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
_log = open(snakemake.log[0], "a", buffering=1)  # noqa: SIM115 (kept open: fds 1 and 2)
os.dup2(_log.fileno(), 1)
os.dup2(_log.fileno(), 2)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
log = logging.getLogger("gmnn.workflow")

import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(snakemake.threads)
tf.config.threading.set_inter_op_parallelism_threads(min(2, snakemake.threads))

from gmnn.data import file_sha256, load_split, read_h5  # noqa: E402
from gmnn.io import atomic_write_json  # noqa: E402
from gmnn.train import TrainConfig, fit  # noqa: E402

inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards
out_dir = Path(snakemake.output.model_json).parent.parent

# A checkpoint is resumed only if it was written for this very request (parameters and
# input files); otherwise, e.g. after a config change, training starts over.
request = {
    "rule": snakemake.rule,
    "wildcards": dict(wc),
    "params": {"n_train": p.n_train, "training": p.training, "model": p.model},
    "inputs": {"data": file_sha256(inp.data), "split": file_sha256(inp.split)},
}
request = json.loads(json.dumps(request))
request_file = out_dir / "request.json"
if (out_dir / "checkpoint.npz").exists():
    old = json.loads(request_file.read_text()) if request_file.exists() else None
    if old != request:
        log.warning("%s: checkpoint of a different request, starting over", out_dir)
        for name in ("checkpoint.npz", "metrics.csv"):
            (out_dir / name).unlink(missing_ok=True)
    else:
        log.info("%s: resuming from checkpoint", out_dir)
atomic_write_json(request_file, request)

data = read_h5(inp.data)
split = load_split(inp.split)
if len(split.train) < p.n_train:
    raise ValueError(f"{inp.split}: {len(split.train)} training structures < n_train={p.n_train}")
train, valid = data[split.train[: p.n_train]], data[split.valid]
log.info("pre-training %s: train %d, valid %d, %s", out_dir, len(train), len(valid), p.training)
fit(
    train,
    valid,
    out_dir,
    config=TrainConfig(**p.training),
    model_config=p.model,
    provenance={"pipeline": {"rule": snakemake.rule, **dict(wc), **request["inputs"]}},
)
log.info("wrote %s", snakemake.output.model_json)
