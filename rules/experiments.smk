# Fig. 2 experiment (Sec. 3.1): pre-train on DFT, train from scratch or fine-tune on
# coupled-cluster data for every setting, training-set size and seed, evaluate on the
# coupled-cluster test set (in the training job), aggregate over seeds.
#
#   models/md17/<molecule>/pretrain/seed<S>/model/{model.json,weights.npz}
#   models/md17/<molecule>/<setting>/n<N>/seed<S>/model/{model.json,weights.npz}
#   results/md17/<molecule>/<setting>/n<N>/seed<S>/metrics.json
#   results/md17/<molecule>/pretrain/seed<S>/metrics_{cc,dft}.json
#   results/md17/fig2_learning_curves.csv, results/md17/fig2_dft_reference.csv
#
# Model directories are not directory() outputs: checkpoint.npz, metrics.csv and
# request.json beside model/ are left undeclared, so that a killed or timed-out job resumes
# from its checkpoint when rerun (--rerun-incomplete) instead of Snakemake deleting it. A
# checkpoint written for other parameters or inputs is discarded by the script.
#
# Paths, settings and the design come from rules/common.smk.

FIG2_RUNS = expand(
    METRICS_CC, molecule=MOLECULES, setting=SETTINGS, n=TRAIN_SIZES, seed=SEEDS
)
FIG2_PRETRAIN_RUNS = expand(
    METRICS_PRETRAINED, molecule=MOLECULES, seed=SEEDS, level=LEVELS
)


rule pretrain:
    """Pre-train one GM-NN on md17.dft.n_train DFT structures (energies and forces).
    The base of every training rule (`use rule pretrain as ...`): one call of
    gmnn.workflow.train_job, whose parameters follow from the job's wildcards."""
    input:
        data=md17_data("{molecule}", "dft"),
        split=md17_split("{molecule}", "dft", "{seed}"),
    output:
        model_json=f"{MODEL_PRETRAINED}/model.json",
        weights=f"{MODEL_PRETRAINED}/weights.npz",
    log:
        "logs/pretrain/{molecule}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/pretrain/{molecule}/seed{seed}.tsv"
    # first among ready jobs: every fine-tuning (and its MD) waits for it
    priority: 10
    conda:
        "../envs/gmnn.yaml"
    threads: 4
    resources:
        # from the cost model (rules/common.smk); --set-resources overrides them
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        # the {setting} wildcard; pre-training: "pretrain"
        setting=lambda wc: wc.get("setting", "pretrain"),
        # the {n} wildcard; pre-training: {npre}, else md17.dft.n_train
        n_train=lambda wc: int(wc.get("n", wc.get("npre", MD17["dft"]["n_train"]))),
        training=training_params,
        # the model section also for fine-tuning: a configured architecture that differs
        # from the pre-trained model's is an error (gmnn.workflow.check_architecture)
        model=config.get("model", {}),
        # only what a setting uses, so that changing it reruns only the runs it affects
        finetune=lambda wc: (
            config.get("finetune", {})
            if Setting.parse(wc.get("setting", "pretrain")).finetuned
            else None
        ),
        # the fields naming the model in its metrics.json (None: not evaluated)
        record=None,
    script:
        "../workflow_scripts/train.py"


use rule pretrain as train_cc with:
    """Train from scratch (scratch_*) or fine-tune the seed's pre-trained model (finetune_*)
    on the first n coupled-cluster training structures; *_E: energies only, *_EF: both.
    The same job evaluates the model on the coupled-cluster test set (metrics.json).
    """
    input:
        data=md17_data("{molecule}", "cc"),
        split=md17_split("{molecule}", "cc", "{seed}"),
        pretrained=pretrained_inputs,
    output:
        model_json=f"{MODEL_CC}/model.json",
        weights=f"{MODEL_CC}/weights.npz",
        metrics=METRICS_CC,
    log:
        "logs/train_cc/{molecule}/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/train_cc/{molecule}/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting=alternatives(Setting.names()),
        n=r"\d+",
    priority: 0
    threads: 1
    params:
        # n_pretrain: the pre-training size ({npre}, else md17.dft.n_train) if fine-tuned
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": wc.setting,
            "n_train": int(wc.n),
            "seed": int(wc.seed),
            "test_set": "cc",
            "n_pretrain": (
                int(wc.get("npre", MD17["dft"]["n_train"]))
                if setting(wc).finetuned
                else None
            ),
        },


rule evaluate_pretrain:
    """Test errors of the DFT-only model on the coupled-cluster (Fig. 2, black line) or the
    DFT test set."""
    input:
        model=f"{MODEL_PRETRAINED}/model.json",
        weights=f"{MODEL_PRETRAINED}/weights.npz",
        data=md17_data("{molecule}", "{level}"),
        split=md17_split("{molecule}", "{level}", "{seed}"),
    output:
        METRICS_PRETRAINED,
    log:
        "logs/evaluate_pretrain/{molecule}/seed{seed}_{level}.log",
    benchmark:
        "benchmarks/rules/evaluate_pretrain/{molecule}/seed{seed}_{level}.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        # the DFT test set is every remaining rMD17 structure (about 90,000)
        mem_mb=lambda wc: 16000 if wc.level == "dft" else 4000,
        runtime=lambda wc: 120 if wc.level == "dft" else 30,
    params:
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": "pretrain",
            "n_train": MD17["dft"]["n_train"],
            "seed": int(wc.seed),
            "test_set": wc.level,
        },
    script:
        "../workflow_scripts/evaluate.py"


rule aggregate:
    """Mean and standard error over seeds: the tidy tables Fig. 2 is drawn from."""
    input:
        # checked while the DAG is built: a damaged metrics.json stops the run before
        # this job could delete the committed tables (gmnn.workflow.checked)
        runs=checked(FIG2_RUNS),
        pretrain=checked(FIG2_PRETRAIN_RUNS),
    output:
        curves=TABLE_FIG2_CURVES,
        reference=TABLE_FIG2_REFERENCE,
    log:
        "logs/aggregate/fig2.log",
    benchmark:
        "benchmarks/rules/aggregate/fig2.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/aggregate.py"


ALL_TARGETS += [TABLE_FIG2_CURVES, TABLE_FIG2_REFERENCE]
