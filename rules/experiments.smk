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
# Depends on rules/common.smk (md17_data, md17_split, alternatives, LEVELS, MOLECULES, SEEDS,
# SETTINGS, TRAIN_SIZES, ALL_TARGETS) and on the wildcard constraints of rules/data.smk.

FIG2_SETTINGS_KNOWN = ("scratch_E", "scratch_EF", "finetune_E", "finetune_EF")

# Paths (wildcards: molecule, setting, n, seed, level).
FIG2_PRETRAINED = "models/md17/{molecule}/pretrain/seed{seed}/model"
FIG2_MODEL = "models/md17/{molecule}/{setting}/n{n}/seed{seed}/model"
FIG2_METRICS = "results/md17/{molecule}/{setting}/n{n}/seed{seed}/metrics.json"
FIG2_PRETRAIN_METRICS = (
    "results/md17/{molecule}/pretrain/seed{seed}/metrics_{level}.json"
)
FIG2_CURVES = "results/md17/fig2_learning_curves.csv"
FIG2_REFERENCE = "results/md17/fig2_dft_reference.csv"

FIG2_RUNS = expand(
    FIG2_METRICS, molecule=MOLECULES, setting=SETTINGS, n=TRAIN_SIZES, seed=SEEDS
)
FIG2_PRETRAIN_RUNS = expand(
    FIG2_PRETRAIN_METRICS, molecule=MOLECULES, seed=SEEDS, level=LEVELS
)

# gmnn.train.TrainConfig of every run (config section `training`); each rule adds the
# loss ("E" or "EF") and the seed.
FIG2_TRAINING = {
    "epochs": config["training"]["epochs"],
    "batch_size": config["training"]["batch_size"],
    "patience": config["training"].get("patience"),
    "learning_rates": dict(config["training"]["lr"]),
    "energy_weight": config["training"]["loss"]["energy_weight"],
    "force_weight": config["training"]["loss"]["force_weight"],
    "progress": False,
}

# Runtime resources (minutes; SLURM time limits) of a training run:
#   10 + epochs x (n_train + n_valid / 3) x atoms x seconds per structure-atom x 1.5 / 60,
# validation being a forward pass (about a third of a step). Seconds per structure-atom per
# epoch measured for hidden [512, 512] and batch 32 on two shared CPU threads (ethanol, E+F:
# 0.65 s per epoch of 128 training and 32 validation structures); E-only costs about half.
# Override per rule with --set-resources, e.g. `--set-resources pretrain:runtime=2880`.
FIG2_ATOMS = {
    "ethanol": 9,
    "malonaldehyde": 9,
    "benzene": 12,
    "toluene": 15,
    "aspirin": 21,
}
FIG2_MINUTES_PER_ATOM = {
    loss: config["training"]["epochs"] * seconds * 1.5 / 60
    for loss, seconds in {"EF": 6e-4, "E": 3e-4}.items()
}


rule pretrain:
    """Pre-train one GM-NN on md17.dft.n_train DFT structures (energies and forces)."""
    input:
        data=md17_data("{molecule}", "dft"),
        split=md17_split("{molecule}", "dft", "{seed}"),
    output:
        model_json=f"{FIG2_PRETRAINED}/model.json",
        weights=f"{FIG2_PRETRAINED}/weights.npz",
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
        mem_mb=8000,
        runtime=lambda wc: int(
            10
            + FIG2_MINUTES_PER_ATOM["EF"]
            * (MD17["dft"]["n_train"] + MD17["dft"]["n_valid"] / 3)
            * FIG2_ATOMS.get(wc.molecule, 25)
        ),
    params:
        n_train=MD17["dft"]["n_train"],
        training=lambda wc: {**FIG2_TRAINING, "loss": "EF", "seed": int(wc.seed)},
        model=config["model"],
    script:
        "../workflow_scripts/pretrain.py"


rule train_cc:
    """Train from scratch (scratch_*) or fine-tune the seed's pre-trained model (finetune_*)
    on the first n coupled-cluster training structures; *_E: energies only, *_EF: both.
    The same job evaluates the model on the coupled-cluster test set (metrics.json).
    """
    input:
        data=md17_data("{molecule}", "cc"),
        split=md17_split("{molecule}", "cc", "{seed}"),
        pretrained=lambda wc: (
            expand(
                f"{FIG2_PRETRAINED}/{{name}}",
                molecule=wc.molecule,
                seed=wc.seed,
                name=["model.json", "weights.npz"],
            )
            if wc.setting.startswith("finetune")
            else []
        ),
    output:
        model_json=f"{FIG2_MODEL}/model.json",
        weights=f"{FIG2_MODEL}/weights.npz",
        metrics=FIG2_METRICS,
    log:
        "logs/train_cc/{molecule}/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/train_cc/{molecule}/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting=alternatives(FIG2_SETTINGS_KNOWN),
        n=r"\d+",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda wc: int(
            10
            + FIG2_MINUTES_PER_ATOM[wc.setting.split("_")[1]]
            * (int(wc.n) + MD17["cc"]["n_valid"] / 3)
            * FIG2_ATOMS.get(wc.molecule, 25)
        ),
    params:
        n_train=lambda wc: int(wc.n),
        training=lambda wc: {
            **FIG2_TRAINING,
            "loss": wc.setting.split("_")[1],
            "seed": int(wc.seed),
        },
        # Only what a setting uses, so that changing it reruns only the runs it affects.
        model=lambda wc: config["model"] if wc.setting.startswith("scratch") else None,
        finetune=lambda wc: (
            config["finetune"] if wc.setting.startswith("finetune") else None
        ),
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": wc.setting,
            "n_train": int(wc.n),
            "seed": int(wc.seed),
            "test_set": "cc",
            "n_pretrain": (
                MD17["dft"]["n_train"] if wc.setting.startswith("finetune") else None
            ),
        },
    script:
        "../workflow_scripts/train_cc.py"


rule evaluate_pretrain:
    """Test errors of the DFT-only model on the coupled-cluster (Fig. 2, black line) or the
    DFT test set."""
    input:
        model_json=f"{FIG2_PRETRAINED}/model.json",
        weights=f"{FIG2_PRETRAINED}/weights.npz",
        data=md17_data("{molecule}", "{level}"),
        split=md17_split("{molecule}", "{level}", "{seed}"),
    output:
        FIG2_PRETRAIN_METRICS,
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
        runs=FIG2_RUNS,
        pretrain=FIG2_PRETRAIN_RUNS,
    output:
        curves=FIG2_CURVES,
        reference=FIG2_REFERENCE,
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


ALL_TARGETS += [FIG2_CURVES, FIG2_REFERENCE]
