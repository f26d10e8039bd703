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


FIGURE_TARGETS = ["figures/fig2.pdf"]


rule fig3:
    """Fig. 3: test RMSE against the pre-training set size, fine-tuned on two sizes (E and
    E+F), with the from-scratch E+F results as horizontal lines."""
    input:
        table=FIG3_TABLE,  # rules/pretrain_size.smk
        fig2_curves=FIG2_CURVES,
    output:
        pdf="figures/fig3.pdf",
        png="figures/fig3.png",
    log:
        "logs/figures/fig3.log",
    benchmark:
        "benchmarks/rules/figures/fig3.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/plot_fig3.py"


SPECTRA_FIGURES = spectra_figures()


rule spectra_figure:
    """Figs. 4, S3-S5: vibrational power spectra of the MD runs, and a Markdown table of
    the fitted stretch peaks of the figure's models."""
    input:
        spectra=MD_TABLES["spectra"],  # rules/md.smk
        runs=MD_TABLES["runs"],
        peaks=MD_TABLES["peaks"],
    output:
        pdf="figures/{figure}.pdf",
        png="figures/{figure}.png",
        table="figures/{figure}_peaks.md",
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/rules/figures/{figure}.tsv"
    wildcard_constraints:
        figure="fig4|figS3|figS4|figS5",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        temperature_K=lambda wc: SPECTRA_FIGURES[wc.figure][0],
        panels=lambda wc: SPECTRA_FIGURES[wc.figure][1],
        molecule=MD["molecule"] if MD else None,
    script:
        "../workflow_scripts/plot_spectra.py"


rule bond_figure:
    """Figs. S1 (O-H) and S2 (C-H): bond-length histogram of the coupled-cluster data and
    relative energy along the stretched bond for four potentials; Markdown table of the
    harmonic wavenumbers next to the figure."""
    input:
        **BOND_TABLES,  # rules/md.smk
    output:
        pdf="figures/{figure}.pdf",
        png="figures/{figure}.png",
        table="figures/{figure}_frequencies.md",
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/rules/figures/{figure}.tsv"
    wildcard_constraints:
        figure="figS1|figS2",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        bond=lambda wc: {"figS1": "O-H", "figS2": "C-H"}[wc.figure],
        molecule=MD["molecule"] if MD else None,
    script:
        "../workflow_scripts/plot_bonds.py"


if FIG3:

    FIGURE_TARGETS += ["figures/fig3.pdf"]

if MD:

    FIGURE_TARGETS += [f"figures/{name}.pdf" for name in SPECTRA_FIGURES]
    FIGURE_TARGETS += ["figures/figS1.pdf", "figures/figS2.pdf"]


rule figures:
    """Every configured figure (and its tables) from the tidy tables in results/: with
    cached results, `snakemake figures` redraws them without models, data or MD."""
    input:
        FIGURE_TARGETS,


ALL_TARGETS += FIGURE_TARGETS
