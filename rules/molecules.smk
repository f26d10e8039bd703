# Your own molecules (config `molecules:`, docs/molecules.md): reference data at two levels
# of theory made by the same scripts and library functions as the embedded methanol
# (rules/embedded.smk; gmnn.refdata.molecules over gmnn.refdata.qc). The design
# (gmnn.workflow.molecules, DESIGN.molecules) is checked at start-up: a bad entry stops the
# run with one line naming molecules.<name>.<key>.
#
#   data/molecules_work/<name>/trajectory.extxyz         all sampled frames      (temp)
#   data/molecules_work/<name>/frames.json               frames of each level    (temp)
#   data/molecules_work/<name>/<mlevel>/chunk<c>.npz     labels of one chunk     (temp)
#   data/molecules/<name>/<mlevel>.h5                    mlevel: pretraining, accurate
#
# A level computed here is sampled, labelled in chunks of `chunk_size` (one job each, so a
# cluster parallelises them; every label's CPU seconds go to the file's meta["label_cost"])
# and merged; a level with `labels_file` is imported in its stated units.
# (`mlevel`, not `level`: rules/data.smk constrains `level` to the MD17 levels.)

MOLECULE_STUDIES = DESIGN.molecules
MOLECULE_WORK = "data/molecules_work/{name}"
MOLECULE_CHUNK = f"{MOLECULE_WORK}/{{mlevel}}/chunk{{chunk}}.npz"
MOLECULE_DATA = "data/molecules/{dataset}.h5"  # dataset: <name>/<mlevel>


rule molecule_sample:
    """GFN2-xTB Langevin MD of one molecule; which frames each computed level labels."""
    output:
        trajectory=temp(f"{MOLECULE_WORK}/trajectory.extxyz"),
        frames=temp(f"{MOLECULE_WORK}/frames.json"),
    log:
        "logs/molecules/{name}/sample.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/sample.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.sampled_names()),
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wc: MOLECULE_STUDIES.sample_minutes(wc.name),
    params:
        spec=lambda wc: MOLECULE_STUDIES.spec_data(wc.name),
    script:
        "../workflow_scripts/molecule_sample.py"


rule molecule_label:
    """PySCF labels of chunk `chunk` of the frames of level `mlevel`."""
    input:
        trajectory=rules.molecule_sample.output.trajectory,
        frames=rules.molecule_sample.output.frames,
    output:
        temp(MOLECULE_CHUNK),
    log:
        "logs/molecules/{name}/label/{mlevel}_{chunk}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/label/{mlevel}_{chunk}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.sampled_names()),
        mlevel="pretraining|accurate",
        chunk=r"\d+",
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wc: MOLECULE_STUDIES.label_minutes(wc.name, wc.mlevel),
    params:
        spec=lambda wc: MOLECULE_STUDIES.spec_data(wc.name),
        max_memory_mb=1500,
    script:
        "../workflow_scripts/molecule_label.py"


rule molecule_merge:
    """All chunks of a computed level -> data/molecules/<name>/<mlevel>.h5 (gmnn HDF5)."""
    input:
        frames=lambda wc: f"data/molecules_work/{wc.dataset.split('/')[0]}/frames.json",
        chunks=lambda wc: MOLECULE_STUDIES.chunk_files(wc.dataset, MOLECULE_CHUNK),
    output:
        MOLECULE_DATA,
    log:
        "logs/molecules/{dataset}/merge.log",
    benchmark:
        "benchmarks/rules/molecules/{dataset}/merge.tsv"
    wildcard_constraints:
        dataset=alternatives(MOLECULE_STUDIES.datasets(computed=True)),
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        level=lambda wc: wc.dataset.split("/")[1],
    script:
        "../workflow_scripts/molecule_merge.py"


rule molecule_import:
    """Labels computed elsewhere (labels_file, its units stated) -> the level's HDF5 file."""
    input:
        lambda wc: MOLECULE_STUDIES.labels_file(wc.dataset),
    output:
        MOLECULE_DATA,
    log:
        "logs/molecules/{dataset}/import.log",
    benchmark:
        "benchmarks/rules/molecules/{dataset}/import.tsv"
    wildcard_constraints:
        dataset=alternatives(MOLECULE_STUDIES.datasets(computed=False)),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda wc: MOLECULE_STUDIES.spec_data(wc.dataset),
        level=lambda wc: wc.dataset.split("/")[1],
    script:
        "../workflow_scripts/molecule_import.py"


ALL_TARGETS += MOLECULE_STUDIES.data_targets()


# ------------------------------------------------------------------------------------------
# The comparison on each molecule (needs rules/experiments.smk: the training rule `pretrain`,
# whose script and job function gmnn.workflow.train_job every training rule here reuses).
#
#   data/splits/molecules/<name>/<mlevel>_seed<S>.json
#   models/molecules/<name>/pretrain/seed<S>/model                 (pretraining level)
#   models/molecules/<name>/<setting>/n<n>/seed<S>/model
#   results/molecules/<name>/<setting>/n<n>/seed<S>/metrics.json
#   results/molecules/<name>/pretrained/seed<S>/metrics.json              (as it is)
#   results/molecules/<name>/pretrained_offset/n<n>/seed<S>/metrics.json  (offset re-fitted)
#   results/molecules/<name>/errors.csv, card.json, card.md
#   models/export/molecules/<name>/                                (best fine-tuned)

MOLECULE_SPLIT = "data/splits/molecules/{name}/{mlevel}_seed{seed}.json"
MOLECULE_MODEL_PRE = "models/molecules/{name}/pretrain/seed{seed}/model"
MOLECULE_MODEL = "models/molecules/{name}/{setting}/n{n}/seed{seed}/model"
MOLECULE_METRICS = "results/molecules/{name}/{setting}/n{n}/seed{seed}/metrics.json"
MOLECULE_ERRORS = "results/molecules/{name}/errors.csv"
MOLECULE_EXPORT = "models/export/molecules/{name}"
# MD of the best fine-tuned and from-scratch ensembles: the path templates TRAJECTORY,
# SUMMARY, SPECTRUM and PEAKS of gmnn.molecules.md
from gmnn.molecules import md as molecule_md


rule molecule_split:
    """Seeded split of a level: accurate, validation, nested train[:n] for every label
    count and the test set (n_test, null: the rest); pretraining, validation and the rest
    to train on."""
    input:
        data=lambda wc: MOLECULE_STUDIES.data_file(wc.name, wc.mlevel),
    output:
        MOLECULE_SPLIT,
    log:
        "logs/molecules/{name}/split/{mlevel}_seed{seed}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/split/{mlevel}_seed{seed}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
        mlevel="pretraining|accurate",
        seed=r"\d+",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        sizes=lambda wc: MOLECULE_STUDIES.split_params(wc.name, wc.mlevel),
        where=lambda wc: f"molecules.{wc.name}",
    script:
        "../workflow_scripts/molecule_split.py"


use rule pretrain as molecule_pretrain with:
    """Pre-train one GM-NN on the pre-training level of a molecule (energies and forces,
    every structure outside the validation set)."""
    input:
        data=lambda wc: MOLECULE_STUDIES.data_file(wc.name, "pretraining"),
        split=lambda wc: MOLECULE_STUDIES.split_file(wc.name, "pretraining", wc.seed),
    output:
        model_json=f"{MOLECULE_MODEL_PRE}/model.json",
        weights=f"{MOLECULE_MODEL_PRE}/weights.npz",
    log:
        "logs/molecules/{name}/pretrain/seed{seed}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/pretrain/seed{seed}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
        seed=r"\d+",
    threads: 1
    params:
        setting="pretrain",
        n_train=None,  # every training structure of the split
        training=lambda wc: MOLECULE_STUDIES.training_params(wc.name, wc.seed),
        model=lambda wc: MOLECULE_STUDIES.model_params(wc.name),
        finetune=None,
        record=None,


use rule pretrain as molecule_train with:
    """Train from scratch or fine-tune (discriminative, non-discriminative, linear probe)
    on the first n accurate labels (*_E: energies only, *_EF: with forces) and evaluate on
    the accurate test set in the same job."""
    input:
        data=lambda wc: MOLECULE_STUDIES.data_file(wc.name, "accurate"),
        split=lambda wc: MOLECULE_STUDIES.split_file(wc.name, "accurate", wc.seed),
        pretrained=lambda wc: (
            MOLECULE_STUDIES.pretrained_input(wc.name, wc.seed)
            if setting(wc).finetuned
            else []
        ),
    output:
        model_json=f"{MOLECULE_MODEL}/model.json",
        weights=f"{MOLECULE_MODEL}/weights.npz",
        metrics=MOLECULE_METRICS,
    log:
        "logs/molecules/{name}/train/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/train/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
        setting=alternatives(Setting.names()),
        n=r"\d+",
        seed=r"\d+",
    priority: 0
    threads: 1
    params:
        setting=lambda wc: wc.setting,
        n_train=lambda wc: int(wc.n),
        training=lambda wc: MOLECULE_STUDIES.training_params(wc.name, wc.seed),
        model=lambda wc: MOLECULE_STUDIES.model_params(wc.name),
        finetune=lambda wc: MOLECULE_STUDIES.finetune_params(wc.setting),
        pretrained_member=lambda wc: (
            MOLECULE_STUDIES.pretrained_member(wc.name, wc.seed)
            if setting(wc).finetuned
            else None
        ),
        record=lambda wc: MOLECULE_STUDIES.record(wc.name, wc.setting, wc.n, wc.seed),


rule molecule_evaluate_pretrained:
    """The pre-trained model on the accurate test set as it is (pretrained), or with its
    energy offset re-fitted on the first n accurate labels (pretrained_offset)."""
    input:
        model=lambda wc: MOLECULE_STUDIES.pretrained_input(wc.name, wc.seed)[0],
        data=lambda wc: MOLECULE_STUDIES.data_file(wc.name, "accurate"),
        split=lambda wc: MOLECULE_STUDIES.split_file(wc.name, "accurate", wc.seed),
    output:
        "results/molecules/{name}/{direct}/seed{seed}/metrics.json",
    log:
        "logs/molecules/{name}/evaluate/{direct}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/evaluate/{direct}/seed{seed}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
        direct=r"pretrained|pretrained_offset/n\d+",
        seed=r"\d+",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        n_offset=lambda wc: MOLECULE_STUDIES.direct_evaluation(
            wc.name, wc.direct, wc.seed
        )["n_offset"],
        member=lambda wc: MOLECULE_STUDIES.pretrained_member(wc.name, wc.seed),
        record=lambda wc: MOLECULE_STUDIES.direct_evaluation(
            wc.name, wc.direct, wc.seed
        )["record"],
    script:
        "../workflow_scripts/evaluate.py"


rule molecule_errors:
    """Every evaluation of a molecule's comparison -> the tidy errors table."""
    input:
        lambda wc: MOLECULE_STUDIES.metrics_files(wc.name),
    output:
        MOLECULE_ERRORS,
    log:
        "logs/molecules/{name}/errors.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/errors.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/molecule_errors.py"


rule molecule_export:
    """The fine-tuned setting with the lowest test error at the largest label count,
    every seed's model, exported as an ensemble with checksums and a model card."""
    input:
        errors=MOLECULE_ERRORS,
        models=lambda wc: MOLECULE_STUDIES.export_models(wc.name),
        data=lambda wc: [
            MOLECULE_STUDIES.data_file(wc.name, lv)
            for lv in MOLECULE_STUDIES.spec(wc.name).levels
        ],
    output:
        directory(MOLECULE_EXPORT),
    log:
        "logs/molecules/{name}/export.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/export.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        levels=lambda wc: list(MOLECULE_STUDIES.spec(wc.name).levels),
        pretrained=lambda wc: MOLECULE_STUDIES.spec(wc.name).pretrained,
    script:
        "../workflow_scripts/molecule_export.py"


rule molecule_md:
    """Ensemble MD of the best fine-tuned (the exported ensemble) or from-scratch setting
    at the largest label count, from the lowest-energy accurate structure: time to a
    divergence, the members' largest force spread (gmnn.molecules.md)."""
    input:
        errors=MOLECULE_ERRORS,
        models=lambda wc: MOLECULE_STUDIES.md_models(wc.name, wc.run),
        data=lambda wc: MOLECULE_STUDIES.data_file(wc.name, "accurate"),
    output:
        trajectory=molecule_md.TRAJECTORY,
        summary=molecule_md.SUMMARY,
    log:
        "logs/molecules/{name}/md_{run}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/md_{run}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
        run="finetuned|scratch",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        md=lambda wc: MOLECULE_STUDIES.study(wc.name).md.to_dict(),
        settings=lambda wc: MOLECULE_STUDIES.study(wc.name).md_settings(wc.run),
    script:
        "../workflow_scripts/molecule_md.py"


rule molecule_spectrum:
    """Power spectrum and stretch-band peaks of a molecule's MD run (the MD17 study's
    script: gmnn.analysis.md.run_spectrum)."""
    input:
        trajectory=molecule_md.TRAJECTORY,
        summary=molecule_md.SUMMARY,
    output:
        spectrum=molecule_md.SPECTRUM,
        peaks=molecule_md.PEAKS,
    log:
        "logs/molecules/{name}/spectrum_{run}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/spectrum_{run}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
        run="finetuned|scratch",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spectra=SPECTRA,
    script:
        "../workflow_scripts/power_spectrum.py"


rule molecule_card:
    """The transfer-learning card: levels and label costs, errors per setting (mean ±
    s.e. over seeds), the recommended setting and why, the data-budget planner, the
    exported ensemble, the MD runs' stability and spectrum peaks."""
    input:
        errors=MOLECULE_ERRORS,
        export=MOLECULE_EXPORT,
        data=lambda wc: [
            MOLECULE_STUDIES.data_file(wc.name, lv)
            for lv in MOLECULE_STUDIES.spec(wc.name).levels
        ],
        md=lambda wc: MOLECULE_STUDIES.md_files(wc.name, molecule_md.SUMMARY),
        peaks=lambda wc: MOLECULE_STUDIES.md_files(wc.name, molecule_md.PEAKS),
        spectra=lambda wc: MOLECULE_STUDIES.md_files(wc.name, molecule_md.SPECTRUM),
    output:
        json="results/molecules/{name}/card.json",
        spectra="results/molecules/{name}/spectra.png",
        md=report(
            "results/molecules/{name}/card.md",
            caption="../report/molecule_card.rst",
            category="Own molecules",
            subcategory="{name}",
            labels=lambda wc: {"result": f"transfer-learning card: {wc.name}"},
        ),
    log:
        "logs/molecules/{name}/card.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/card.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.names),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        levels=lambda wc: list(MOLECULE_STUDIES.spec(wc.name).levels),
        planner=lambda wc: MOLECULE_STUDIES.study(wc.name).planner_config,
        runs=lambda wc: MOLECULE_STUDIES.study(wc.name).md_runs,
    script:
        "../workflow_scripts/molecule_card.py"


ALL_TARGETS += MOLECULE_STUDIES.card_targets()
