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
# Depends on rules/experiments.smk (rules pretrain and train_cc, which these reuse).

FIG3_RUNS = (
    [
        (finetuned_metrics(m, npre, s, n, seed), int(npre))
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
    """Pre-train one GM-NN on the first N DFT structures of the seed's split."""
    output:
        model_json=f"{MODEL_PRETRAINED_N}/model.json",
        weights=f"{MODEL_PRETRAINED_N}/weights.npz",
    log:
        "logs/pretrain_size/{molecule}/n{npre}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/pretrain_size/{molecule}/n{npre}/seed{seed}.tsv"
    wildcard_constraints:
        npre=r"\d+",


use rule train_cc as finetune_pretrain_size with:
    """Fine-tune the model pre-trained on N DFT structures on the first n coupled-cluster
    structures, and evaluate it on the coupled-cluster test set."""
    output:
        model_json=f"{MODEL_FINETUNED_N}/model.json",
        weights=f"{MODEL_FINETUNED_N}/weights.npz",
        metrics=METRICS_FINETUNED_N,
    log:
        "logs/finetune_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/finetune_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting="finetune_E|finetune_EF",
        npre=r"\d+",
        n=r"\d+",


rule aggregate_pretrain_size:
    """Fig. 3 table: coupled-cluster test errors by pre-training size, fine-tuning size
    and setting (mean and standard error over seeds)."""
    input:
        runs=checked([path for path, _ in FIG3_RUNS]),
    output:
        TABLE_FIG3,
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

    ALL_TARGETS += [TABLE_FIG3]
