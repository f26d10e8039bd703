# Figures, drawn only from the tidy tables under results/ (small, tracked): with cached
# results, `snakemake figures/fig2.pdf` redraws a figure in seconds without models/ or data/.
#
#   figures/fig2.pdf, figures/fig2.png   <- results/md17/fig2_{learning_curves,dft_reference}.csv


rule fig2:
    """Fig. 2: learning curves (energy and force RMSE vs training-set size), one column per
    molecule, four settings with standard-error bands, DFT-only model as a black line.
    """
    input:
        curves=FIG2_CURVES,  # rules/experiments.smk
        reference=FIG2_REFERENCE,
    output:
        pdf="figures/fig2.pdf",
        png="figures/fig2.png",
    log:
        "logs/figures/fig2.log",
    benchmark:
        "benchmarks/rules/figures/fig2.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/plot_fig2.py"


ALL_TARGETS += ["figures/fig2.pdf"]
