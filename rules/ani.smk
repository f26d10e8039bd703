# The ANI study (Sec. 3.2): pre-training on ANI-1x, COMP6 errors (Table 1), ANI-1ccx
# learning curves (Fig. 5) and fine-tuning the ANI-1x models on MD17 coupled-cluster data
# (Fig. 6); the pre-trained and fine-tuned ensembles exported with a model card.
#
#   data/splits/ani/{ani1x,ani1ccx}_seed<S>.json
#   models/ani/ani1x/n<N>/seed<S>/model                              pre-trained (E+F)
#   results/ani/comp6/n<N>/seed<S>.json                              COMP6 errors
#   models/ani/ani1ccx/<setting>/n<n>/seed<S>/model                  from scratch (E)
#   models/ani/ani1ccx/pre<N>/<setting>/n<n>/seed<S>/model           fine-tuned (E)
#   models/ani/md17/<molecule>/pre<N>/<setting>/n<n>/seed<S>/model   Fig. 6 fine-tuning
#   results/ani/...metrics.json, results/ani/{table1_comp6,fig5_learning_curves,
#   fig6_pretrain_size}.csv, figures/{table1.md,table1.tex,fig5.pdf,fig6.pdf}
#   models/export/{ani1x_pretrained,ani1ccx_finetuned}/               ensembles + card
#
# As for MD17, model directories are not directory() outputs, so a job killed by a time
# limit resumes from its checkpoint. Depends on rules/common.smk (paths, md17 helpers),
# rules/data.smk (data and splits of MD17) and rules/experiments.smk (the training rules
# pretrain and train_cc, which the training rules here reuse).
#
# The embedded default's pre-trained models and splits are committed (docs/models.md):
# with ani.source `embedded`, the inputs of split_ani and pretrain_ani are ancient, so
# file times in a fresh clone never plan them; `--forcerun pretrain_ani` regenerates them.


rule split_ani:
    """Seeded conformer-level split of ANI-1x (validation, then nested training sets of
    every pre-training size; no test set) or ANI-1ccx (validation, nested training sets of
    ani.ani1ccx.train_sizes, test from the rest)."""
    input:
        unpack(
            lambda wc: {
                "data": committed(ani_data(wc.name)),
                **(
                    {
                        "exclude_split": committed(ani_split("ani1ccx", wc.seed)),
                        "exclude_data": committed(ani_data("ani1ccx")),
                    }
                    if wc.name == "ani1x" and ANI["ani1x"]["exclude_ani1ccx_test"]
                    else {}
                ),
            }
        ),
    output:
        SPLIT_ANI,
    log:
        "logs/split_ani/{name}_seed{seed}.log",
    benchmark:
        "benchmarks/rules/split_ani/{name}_seed{seed}.tsv"
    wildcard_constraints:
        name="ani1x|ani1ccx",
        seed=r"\d+",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,  # reads the ids only
        runtime=30,
    params:
        train_sizes=lambda wc: ANI_SIZES if wc.name == "ani1x" else ANI_CC_SIZES,
        n_valid=lambda wc: ANI[wc.name]["n_valid"],
        n_test=lambda wc: 0 if wc.name == "ani1x" else ANI["ani1ccx"].get("n_test"),
    script:
        "../workflow_scripts/split_ani.py"


use rule pretrain as pretrain_ani with:
    """Pre-train one GM-NN on the first N ANI-1x structures (energies and forces, cutoff
    ani.model.cutoff, the mixed-size loss)."""
    input:
        data=committed(ani_data("ani1x")),
        split=committed(ani_split("ani1x", "{seed}")),
    output:
        model_json=f"{MODEL_ANI}/model.json",
        weights=f"{MODEL_ANI}/weights.npz",
    log:
        "logs/pretrain_ani/n{npre}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/pretrain_ani/n{npre}/seed{seed}.tsv"
    wildcard_constraints:
        npre=r"\d+",
    params:
        training=ani_training("ani1x"),
        model=ANI_MODEL_CONFIG,


rule evaluate_comp6:
    """Energy and force errors of one pre-trained model on every COMP6 subset, with the
    sums that pool them over all conformers (Table 1's COMP6 row)."""
    input:
        model=f"{MODEL_ANI}/model.json",
        weights=f"{MODEL_ANI}/weights.npz",
        data=[comp6_data(s) for s in COMP6_SUBSETS],
    output:
        METRICS_COMP6,
    log:
        "logs/evaluate_comp6/n{npre}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/evaluate_comp6/n{npre}/seed{seed}.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 4
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        subsets=COMP6_SUBSETS,
        record=lambda wc: {
            "setting": "pretrain",
            "n_train": int(wc.npre),
            "seed": int(wc.seed),
            "test_set": "comp6",
        },
    script:
        "../workflow_scripts/evaluate.py"


use rule pretrain_ani as train_ani1ccx with:
    """Train from scratch on the first n ANI-1ccx structures (energies only), and
    evaluate on the ANI-1ccx test set."""
    input:
        data=ani_data("ani1ccx"),
        split=ani_split("ani1ccx", "{seed}"),
    output:
        model_json=f"{MODEL_ANI1CCX}/model.json",
        weights=f"{MODEL_ANI1CCX}/weights.npz",
        metrics=METRICS_ANI1CCX,
    log:
        "logs/train_ani1ccx/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/train_ani1ccx/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting="scratch_E",
        n=r"\d+",
    priority: 0
    params:
        training=ani_training("ani1ccx"),
        record=ani1ccx_record,


use rule train_ani1ccx as finetune_ani1ccx with:
    """Fine-tune the model pre-trained on N ANI-1x structures on the first n ANI-1ccx
    structures (energies only), and evaluate on the ANI-1ccx test set."""
    input:
        data=ani_data("ani1ccx"),
        split=ani_split("ani1ccx", "{seed}"),
        pretrained=model_files(ani_model("{npre}", "{seed}")),
    output:
        model_json=f"{MODEL_ANI1CCX_FT}/model.json",
        weights=f"{MODEL_ANI1CCX_FT}/weights.npz",
        metrics=METRICS_ANI1CCX_FT,
    log:
        "logs/finetune_ani1ccx/pre{npre}/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/finetune_ani1ccx/pre{npre}/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting="finetune_E|finetune_nd_E",
        n=r"\d+",
        npre=r"\d+",
    params:
        record=lambda wc: ani1ccx_record(wc, int(wc.npre)),


use rule train_cc as finetune_ani_md17 with:
    """Fig. 6: fine-tune the model pre-trained on N ANI-1x structures on the first n MD17
    coupled-cluster structures of a molecule (MD17 training settings, the ANI cutoff),
    and evaluate on the coupled-cluster test set."""
    input:
        data=md17_data("{molecule}", "cc"),
        split=md17_split("{molecule}", "cc", "{seed}"),
        pretrained=model_files(ani_model("{npre}", "{seed}")),
    output:
        model_json=f"{MODEL_ANI_MD17}/model.json",
        weights=f"{MODEL_ANI_MD17}/weights.npz",
        metrics=METRICS_ANI_MD17,
    log:
        "logs/finetune_ani_md17/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/finetune_ani_md17/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        setting="finetune_E|finetune_EF|finetune_nd_E|finetune_nd_EF",
        n=r"\d+",
        npre=r"\d+",
    params:
        # the pre-trained model's architecture (cutoff 5.0 A), which fine-tuning keeps
        model=ANI_MODEL_CONFIG,
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": wc.setting,
            "n_train": int(wc.n),
            "seed": int(wc.seed),
            "test_set": "cc",
            "n_pretrain": int(wc.npre),
            "pretraining": "ani1x",
        },


rule evaluate_ani_md17:
    """Fig. 6's red line: the ANI-1x pre-trained model itself on the MD17 coupled-cluster
    test set (energies shifted by the mean offset on the first n training structures).
    """
    input:
        model=f"{MODEL_ANI}/model.json",
        weights=f"{MODEL_ANI}/weights.npz",
        data=md17_data("{molecule}", "cc"),
        split=md17_split("{molecule}", "cc", "{seed}"),
    output:
        METRICS_ANI_MD17_PRETRAINED,
    log:
        "logs/evaluate_ani_md17/{molecule}/pre{npre}/n{n}/seed{seed}.log",
    benchmark:
        "benchmarks/rules/evaluate_ani_md17/{molecule}/pre{npre}/n{n}/seed{seed}.tsv"
    wildcard_constraints:
        n=r"\d+",
        npre=r"\d+",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        # the energy offset is fitted on the first n coupled-cluster training structures
        n_offset=lambda wc: int(wc.n),
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": "pretrained",
            "n_pretrain": int(wc.npre),
            "seed": int(wc.seed),
            "test_set": "cc",
            "pretraining": "ani1x",
        },
    script:
        "../workflow_scripts/evaluate.py"


rule aggregate_table1:
    """Table 1: COMP6 errors per subset and pooled, mean and standard error over seeds."""
    input:
        metrics=checked(
            expand(
                METRICS_COMP6,
                npre=ANI.get("table1", {}).get("sizes", []),
                seed=ANI_SEEDS,
            )
        ),
        # the zero-force baseline of each subset (the RMS of its force labels)
        data=[comp6_data(s) for s in COMP6_SUBSETS],
    output:
        csv=TABLE_TABLE1,
    log:
        "logs/aggregate_ani/table1.log",
    benchmark:
        "benchmarks/rules/aggregate_ani/table1.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # the paper's values are matched by COMP6 subset name
        paper=ANI_SOURCE == "ani",
        subsets=COMP6_SUBSETS,
        names=ANI_NAMES,  # the data sets' names (gmnn.analysis.names), for the captions
    script:
        "../workflow_scripts/aggregate_table1.py"


rule table1:
    """Table 1 as Markdown and LaTeX, the paper's values beside ours."""
    input:
        csv=TABLE_TABLE1,
    output:
        md=report(
            "figures/table1.md",
            caption="../report/table1.rst",
            category=ANI_STUDY,
            subcategory="Table 1: COMP6",
            labels=lambda wc: {"result": "Table 1: COMP6 errors", **ani_labels()},
        ),
        tex="figures/table1.tex",
    log:
        "logs/figures/table1.log",
    benchmark:
        "benchmarks/rules/figures/table1.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=ANI_NAMES,  # the data sets' names (gmnn.analysis.names)
    script:
        "../workflow_scripts/plot_table1.py"


rule aggregate_fig5:
    """Fig. 5: ANI-1ccx test energy errors by training set size, from scratch and
    fine-tuned, mean and standard error over seeds."""
    input:
        metrics=checked(fig5_metrics()),
    output:
        TABLE_FIG5,
    log:
        "logs/aggregate_ani/fig5.log",
    benchmark:
        "benchmarks/rules/aggregate_ani/fig5.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=ANI_NAMES,  # the data sets' names (gmnn.analysis.names)
    script:
        "../workflow_scripts/aggregate_fig5.py"


rule fig5:
    """Fig. 5: ANI-1ccx energy RMSE against the training set size."""
    input:
        TABLE_FIG5,
    output:
        pdf="figures/fig5.pdf",
        png=report(
            "figures/fig5.png",
            caption="../report/fig5.rst",
            category=ANI_STUDY,
            subcategory="Fig. 5: ANI-1ccx learning curves",
            labels=lambda wc: {
                "result": "Fig. 5: ANI-1ccx learning curves",
                **ani_labels(),
            },
        ),
    log:
        "logs/figures/fig5.log",
    benchmark:
        "benchmarks/rules/figures/fig5.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=ANI_NAMES,  # the data sets' names (gmnn.analysis.names)
    script:
        "../workflow_scripts/plot_fig5.py"


rule aggregate_fig6:
    """Fig. 6: MD17 coupled-cluster test errors by ANI-1x pre-training size, with the
    from-scratch (Fig. 2) and pre-trained references."""
    input:
        finetuned=checked(
            expand(
                METRICS_ANI_MD17,
                molecule=FIG6.get("molecules", []),
                npre=FIG6.get("pretrain_sizes", []),
                setting=FIG6.get("settings", []),
                n=FIG6.get("n_train"),
                seed=ANI_SEEDS,
            )
        ),
        scratch=checked(
            expand(
                METRICS_CC,
                molecule=FIG6.get("molecules", []),
                setting=["scratch_E", "scratch_EF"],
                n=FIG6.get("n_train"),
                seed=SEEDS,
            )
        ),
        pretrained=checked(
            expand(
                METRICS_ANI_MD17_PRETRAINED,
                molecule=FIG6.get("molecules", []),
                npre=max(FIG6.get("pretrain_sizes", [0])),
                n=FIG6.get("n_train"),
                seed=ANI_SEEDS,
            )
        ),
    output:
        TABLE_FIG6,
    log:
        "logs/aggregate_ani/fig6.log",
    benchmark:
        "benchmarks/rules/aggregate_ani/fig6.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=ANI_NAMES,  # the data sets' names (gmnn.analysis.names)
    script:
        "../workflow_scripts/aggregate_fig6.py"


rule fig6:
    """Fig. 6: errors after fine-tuning on MD17 against the ANI-1x pre-training size."""
    input:
        TABLE_FIG6,
    output:
        pdf="figures/fig6.pdf",
        png=report(
            "figures/fig6.png",
            caption="../report/fig6.rst",
            category=ANI_STUDY,
            subcategory="Fig. 6: ANI-1x pre-training size",
            labels=lambda wc: {
                "result": "Fig. 6: errors vs ANI-1x pre-training size",
                **ani_labels(),
            },
        ),
    log:
        "logs/figures/fig6.log",
    benchmark:
        "benchmarks/rules/figures/fig6.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        names=ANI_NAMES,  # the data sets' names (gmnn.analysis.names)
    script:
        "../workflow_scripts/plot_fig6.py"


rule export_ani:
    """One published ensemble (every seed's model) with its model card and COMP6 errors."""
    input:
        # the members' model files; the COMP6 errors (Table 1) on the pre-trained card
        unpack(
            lambda wc: {
                "models": [f"{m}/model.json" for m in ANI_EXPORTS[wc.name]["models"]],
                **({"errors": TABLE_TABLE1} if wc.name == "ani1x_pretrained" else {}),
            }
        ),
    output:
        directory("models/export/{name}"),
    log:
        "logs/export_ani/{name}.log",
    benchmark:
        "benchmarks/rules/export_ani/{name}.tsv"
    wildcard_constraints:
        name="|".join(ANI_EXPORTS) or "none",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        card=lambda wc: ANI_EXPORTS[wc.name]["card"],
        names=ANI_NAMES,  # for the caption of the Table 1 it reads (gmnn.analysis.names)
    script:
        "../workflow_scripts/export_models.py"


rule ani:
    """Table 1, Figs. 5 and 6, and the exported ANI ensembles."""
    input:
        ANI_TARGETS,


# (the figures join ALL_TARGETS with the others, in rules/figures.smk)
ALL_TARGETS += [t for t in ANI_TARGETS if t not in ANI_FIGURES]
