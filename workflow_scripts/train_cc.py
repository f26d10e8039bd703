"""Rules `train_cc` and `finetune_pretrain_size`: train from scratch or fine-tune on the
first n coupled-cluster structures, then evaluate on the coupled-cluster test set.

scratch_*: gmnn.train.fit; finetune_*: gmnn.transfer.finetune (discriminative) from the
given pre-trained model. *_E: energies only, so training AND validation structures are
stripped of their forces; *_EF: energies and forces. The test errors are computed in the
same job (one TensorFlow start-up instead of two) and written to metrics.json.
"""

from pathlib import Path

from gmnn.workflow import claim_checkpoint, start_job

log = start_job(snakemake.log[0], snakemake.threads)

from gmnn.data import file_sha256, load_split, read_h5  # noqa: E402
from gmnn.io import atomic_write_json  # noqa: E402
from gmnn.train import TrainConfig, fit  # noqa: E402
from gmnn.transfer import finetune  # noqa: E402
from gmnn.workflow import evaluate_on_split  # noqa: E402

inp, p, wc = snakemake.input, snakemake.params, snakemake.wildcards
out_dir = Path(snakemake.output.model_json).parent.parent
kind = wc.setting.split("_")[0]
pretrained = Path(inp.pretrained[0]).parent if kind == "finetune" else None

# A checkpoint is resumed only if it was written for this very request (parameters
# and input files, the pre-trained weights included); otherwise training starts over.
inputs = {"data": inp.data, "split": inp.split}
if pretrained is not None:
    inputs.update({f"pretrained/{Path(f).name}": f for f in inp.pretrained})
request = {
    "rule": snakemake.rule,
    "wildcards": dict(wc),
    "params": {
        "n_train": p.n_train,
        "training": p.training,
        "model": p.model,
        "finetune": p.finetune,
    },
    "inputs": {k: file_sha256(v) for k, v in inputs.items()},
}
request = claim_checkpoint(out_dir, request, log)

data = read_h5(inp.data)
split = load_split(inp.split)
if len(split.train) < p.n_train:
    raise ValueError(f"{inp.split}: {len(split.train)} training structures < n={p.n_train}")
train, valid = data[split.train[: p.n_train]], data[split.valid]
if p.training["loss"] == "E":
    train, valid = train.without_labels(forces=True), valid.without_labels(forces=True)
config = TrainConfig(**p.training)
provenance = {"pipeline": {"rule": snakemake.rule, **dict(wc), **request["inputs"]}}
log.info("%s: train %d, valid %d, %s", out_dir, len(train), len(valid), p.training)
if kind == "scratch":
    fit(train, valid, out_dir, config=config, model_config=p.model, provenance=provenance)
else:
    finetune(
        pretrained,
        train,
        valid,
        out_dir,
        config=config,
        mode="discriminative",
        lr_last=p.finetune["lr_last"],
        lr_factor=p.finetune["lr_factor"],
        provenance=provenance,
    )
log.info("wrote %s", snakemake.output.model_json)

record = evaluate_on_split(out_dir / "model", inp.data, inp.split, dict(p.record), log)
atomic_write_json(snakemake.output.metrics, record)
log.info("%s: %s", snakemake.output.metrics, {k: record[k] for k in ("energy_rmse", "force_rmse")})
