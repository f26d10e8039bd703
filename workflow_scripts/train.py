"""Rules `pretrain`, `pretrain_size`, `train_cc`, `finetune_pretrain_size` (and the
molecule study's `molecule_pretrain`, `molecule_train`): train or
fine-tune one model (gmnn.workflow.train_job) and, for the coupled-cluster runs,
evaluate it on the test set in the same job (one TensorFlow start-up instead of two)."""

from pathlib import Path

from gmnn.workflow import finish, job, train_job

log = job(snakemake, tf=True)
inp, out, p = snakemake.input, snakemake.output, snakemake.params
pretrained = inp.get("pretrained")
pretrained = Path(pretrained[0]).parent if pretrained else None
member = p.get("pretrained_member")  # rule molecule_train: a member of an exported ensemble
if member is not None:
    from gmnn.workflow.molecules import ensemble_member

    pretrained = ensemble_member(inp.pretrained[0], member)
train_job(
    data=inp.data,
    split=inp.split,
    n_train=p.n_train,
    out_dir=Path(out.model_json).parent.parent,
    setting=p.setting,
    training=p.training,
    model=p.model,
    finetune=p.finetune,
    pretrained=pretrained,
    record=p.record,
    metrics=out.get("metrics"),
    provenance={"pipeline": {"rule": snakemake.rule, **dict(snakemake.wildcards)}},
    log=log,
)
finish()  # leave without the interpreter's teardown (gmnn.workflow.finish)
