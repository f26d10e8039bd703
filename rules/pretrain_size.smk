# Fig. 3 (Sec. 3.1): dependence on the pre-training set size. For each molecule of
# `pretrain_size`, pre-train on the first N DFT structures of the seed's split (nested),
# fine-tune on the first n coupled-cluster structures (E and E+F), evaluate on the
# coupled-cluster test set, aggregate over seeds. N = md17.dft.n_train reuses the Fig. 2
# models and results; the from-scratch lines are the Fig. 2 runs.
#
#   models/md17_pretrain_size/<molecule>/pretrain/n<N>/seed<S>/model/
#   models/md17_pretrain_size/<molecule>/pre<N>/<setting>/n<n>/seed<S>/model/
#   results/md17_pretrain_size/<molecule>/pre<N>/<setting>/n<n>/seed<S>/metrics.json
#   results/md17/fig3_pretrain_size.csv
#
# Depends on rules/experiments.smk (rules pretrain and train_cc, FIG2_* paths).

FIG3 = config.get("pretrain_size")
FIG3_PRETRAINED = (
    "models/md17_pretrain_size/{molecule}/pretrain/n{npre}/seed{seed}/model"
)
FIG3_MODEL = (
    "models/md17_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}/model"
)
FIG3_METRICS = "results/md17_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}/metrics.json"
FIG3_TABLE = "results/md17/fig3_pretrain_size.csv"


FIG3_RUNS = (
    [
        (fig3_metrics(m, npre, s, n, seed), int(npre))
        for m in FIG3["molecules"]
        for npre in FIG3["sizes"]
        for s in FIG3["settings"]
        for n in FIG3["finetune_sizes"]
        for seed in SEEDS
    ]
    if FIG3
    else []
)


use rule pretrain as pretrain_size with:
    input:
        data=md17_data("{molecule}", "dft"),
        split=md17_split("{molecule}", "dft", "{seed}"),
    output:
        model_json=f"{FIG3_PRETRAINED}/model.json",
        weights=f"{FIG3_PRETRAINED}/weights.npz",
    log:
        "logs/pretrain_size/{molecule}/n{npre}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/pretrain_size/{molecule}/n{npre}/seed{seed}.tsv"
    wildcard_constraints:
        npre=r"\d+",
    resources:
        mem_mb=8000,
        runtime=lambda wc: int(
            10
            + FIG2_MINUTES_PER_ATOM["EF"]
            * (int(wc.npre) + MD17["dft"]["n_valid"] / 3)
            * FIG2_ATOMS.get(wc.molecule, 25)
        ),
    params:
        n_train=lambda wc: int(wc.npre),
        training=lambda wc: {**FIG2_TRAINING, "loss": "EF", "seed": int(wc.seed)},
        model=config["model"],


use rule train_cc as finetune_pretrain_size with:
    input:
        data=md17_data("{molecule}", "cc"),
        split=md17_split("{molecule}", "cc", "{seed}"),
        pretrained=lambda wc: [
            f"{fig3_pretrained(wc.molecule, wc.npre, wc.seed)}/{name}"
            for name in ("model.json", "weights.npz")
        ],
    output:
        model_json=f"{FIG3_MODEL}/model.json",
        weights=f"{FIG3_MODEL}/weights.npz",
        metrics=FIG3_METRICS,
    log:
        "logs/finetune_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/finetune_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting="finetune_E|finetune_EF",
        npre=r"\d+",
        n=r"\d+",
    params:
        n_train=lambda wc: int(wc.n),
        training=lambda wc: {
            **FIG2_TRAINING,
            "loss": wc.setting.split("_")[1],
            "seed": int(wc.seed),
        },
        model=None,
        finetune=config["finetune"],
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": wc.setting,
            "n_train": int(wc.n),
            "seed": int(wc.seed),
            "test_set": "cc",
            "n_pretrain": int(wc.npre),
        },


rule aggregate_pretrain_size:
    """Fig. 3 table: coupled-cluster test errors by pre-training size, fine-tuning size
    and setting (mean and standard error over seeds)."""
    input:
        runs=[path for path, _ in FIG3_RUNS],
    output:
        FIG3_TABLE,
    log:
        "logs/aggregate/fig3.log",
    benchmark:
        "benchmarks/rules/aggregate/fig3.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # results of the Fig. 2 runs may predate the n_pretrain field: it is set here
        n_pretrain=[npre for _, npre in FIG3_RUNS],
    script:
        "../workflow_scripts/aggregate_pretrain_size.py"


if FIG3:

    ALL_TARGETS += [FIG3_TABLE]
