"""Rule `pretrain`: fit a GM-NN on the DFT training split (energies and forces)."""

from pathlib import Path

from gmnn.workflow import claim_checkpoint, start_job

log = start_job(snakemake.log[0], snakemake.threads)

from gmnn.data import file_sha256, load_split, read_h5  # noqa: E402
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
request = claim_checkpoint(out_dir, request, log)

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
