# Figures, drawn only from the tidy tables under results/ (small, tracked): with cached
# results, `snakemake figures/fig2.pdf` redraws a figure in seconds without models/ or data/.
#
#   figures/fig2.pdf, figures/fig2.png   <- results/md17/fig2_{learning_curves,dft_reference}.csv


rule fig2:
    """Fig. 2: learning curves (energy and force RMSE vs training-set size), one column per
    molecule, four settings with standard-error bands, DFT-only model as a black line.
    """
    input:
        curves=TABLE_FIG2_CURVES,
        reference=TABLE_FIG2_REFERENCE,
    output:
        pdf="figures/fig2.pdf",
        png=report(
            "figures/fig2.png",
            caption="../report/fig2.rst",
            category="MD17 transfer learning",
            subcategory="Fig. 2: learning curves",
            labels={
                "result": "Fig. 2: learning curves",
                "molecules": ", ".join(MOLECULES),
                "seeds": f"{len(SEEDS)} ({', '.join(map(str, SEEDS))})",
            },
        ),
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


FIGURE_TARGETS = DESIGN.figure_targets()  # every configured figure


rule fig3:
    """Fig. 3: test RMSE against the pre-training set size, fine-tuned on two sizes (E and
    E+F), with the from-scratch E+F results as horizontal lines."""
    input:
        table=TABLE_FIG3,
        fig2_curves=TABLE_FIG2_CURVES,
    output:
        pdf="figures/fig3.pdf",
        png=report(
            "figures/fig3.png",
            caption="../report/fig3.rst",
            category="MD17 transfer learning",
            subcategory="Fig. 3: pre-training set size",
            labels=lambda wildcards: {
                "result": "Fig. 3: errors vs pre-training set size",
                "molecules": ", ".join(FIG3["molecules"]),
                "seeds": f"{len(SEEDS)} ({', '.join(map(str, SEEDS))})",
            },
        ),
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


rule spectra_figure:
    """Figs. 4, S3-S5: vibrational power spectra of the MD runs, and a Markdown table of
    the fitted stretch peaks of the figure's models."""
    input:
        spectra=TABLES_MD["spectra"],
        runs=TABLES_MD["runs"],
        peaks=TABLES_MD["peaks"],
    output:
        pdf="figures/{figure}.pdf",
        png=report(
            "figures/{figure}.png",
            caption="../report/spectra.rst",
            category="MD17 vibrational analysis",
            subcategory="Figs. 4, S3-S5: power spectra",
            labels=lambda wildcards, params: {
                "result": f"Fig. {wildcards.figure.removeprefix('fig')}: power spectra, "
                f"{params.temperature_K} K",
                "molecules": MD["molecule"],
                "seeds": f"1 (seed {MD['seed']})",
            },
        ),
        table=report(
            "figures/{figure}_peaks.md",
            caption="../report/spectra_peaks.rst",
            category="MD17 vibrational analysis",
            subcategory="Figs. 4, S3-S5: power spectra",
            labels=lambda wildcards, params: {
                "result": f"Fig. {wildcards.figure.removeprefix('fig')}: peak table, "
                f"{params.temperature_K} K",
                "molecules": MD["molecule"],
                "seeds": f"1 (seed {MD['seed']})",
            },
        ),
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/rules/figures/{figure}.tsv"
    wildcard_constraints:
        figure=alternatives(SPECTRA_FIGURES) if SPECTRA_FIGURES else "none",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        temperature_K=lambda wc: SPECTRA_FIGURES[wc.figure]["temperature_K"],
        panels=lambda wc: SPECTRA_FIGURES[wc.figure]["panels"],
        molecule=MD["molecule"] if MD else None,
    script:
        "../workflow_scripts/plot_spectra.py"


rule bond_figure:
    """Figs. S1 (O-H) and S2 (C-H): bond-length histogram of the coupled-cluster data and
    relative energy along the stretched bond for four potentials; Markdown table of the
    harmonic wavenumbers next to the figure."""
    input:
        **TABLES_BONDS,
    output:
        pdf="figures/{figure}.pdf",
        png=report(
            "figures/{figure}.png",
            caption="../report/bonds.rst",
            category="MD17 vibrational analysis",
            subcategory="Figs. S1, S2: bond scans",
            labels=lambda wildcards, params: {
                "result": f"Fig. {wildcards.figure.removeprefix('fig')}: {params.bond} "
                "bond lengths and scans",
                "molecules": MD["molecule"],
                "seeds": f"1 (seed {MD['seed']})",
            },
        ),
        table=report(
            "figures/{figure}_frequencies.md",
            caption="../report/bond_frequencies.rst",
            category="MD17 vibrational analysis",
            subcategory="Figs. S1, S2: bond scans",
            labels=lambda wildcards, params: {
                "result": f"Fig. {wildcards.figure.removeprefix('fig')}: {params.bond} "
                "harmonic wavenumbers",
                "molecules": MD["molecule"],
                "seeds": f"1 (seed {MD['seed']})",
            },
        ),
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/rules/figures/{figure}.tsv"
    wildcard_constraints:
        figure=alternatives(BOND_FIGURES) if BOND_FIGURES else "none",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        bond=lambda wc: BOND_FIGURES[wc.figure],
        molecule=MD["molecule"] if MD else None,
    script:
        "../workflow_scripts/plot_bonds.py"


rule figures:
    """Every configured figure (and its tables) from the tidy tables in results/: with
    cached results, `snakemake figures` redraws them without models, data or MD."""
    input:
        FIGURE_TARGETS,


ALL_TARGETS += FIGURE_TARGETS
