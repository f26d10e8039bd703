# The reproduction scorecard: every finding of the paper (C01-C51) checked on the tidy
# tables of the figure groups the config enables (gmnn.claims); a group that is off makes
# its findings "not testable". Reads only results/**/*.csv, so it reruns in seconds.
#
#   results/claims.csv, figures/claims.md   <- the tidy tables of the enabled figures


# The tidy tables of the enabled figure groups.
CLAIMS_TABLES = [TABLE_FIG2_CURVES, TABLE_FIG2_REFERENCE]
CLAIMS_TABLES += [TABLE_FIG3] if FIG3 else []
CLAIMS_TABLES += (
    [TABLES_MD["runs"], TABLES_MD["peaks"]]
    + [TABLES_BONDS["histograms"], TABLES_BONDS["frequencies"]]
    if MD
    else []
)
CLAIMS_TABLES += [TABLE_TABLE1, TABLE_FIG5, TABLE_FIG6] if ANI else []
CLAIMS_TABLES += [TABLES_ALA10["runs"]] if ALA10_PHASES else []


rule claims:
    """The reproduction scorecard: one row per finding of the paper with its verdict at
    the configured scale (gmnn.claims), as CSV and as a Markdown page."""
    input:
        checked(CLAIMS_TABLES),
    output:
        csv="results/claims.csv",
        md=report(
            "figures/claims.md",
            caption="../report/claims.rst",
            category="Reproduction scorecard",
            labels={"result": "scorecard: the paper's findings C01-C51"},
        ),
    log:
        "logs/claims/claims.log",
    benchmark:
        "benchmarks/rules/claims/claims.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        atoms={m: gmnn_resources.molecule_atoms(m) for m in MOLECULES},
        names=ANI_NAMES,  # for the captions of the ANI tables it reads (gmnn.analysis.names)
    script:
        "../workflow_scripts/claims.py"
