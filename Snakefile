# gmnn-tl: reproduce Zaverkin et al. (2023), "Transfer learning for chemically accurate
# interatomic neural network potentials".
#
#   snakemake --cores 48 figures/fig2.pdf              # paper scale (config.yaml)
#   snakemake --profile profiles/embedded              # offline embedded default
#   snakemake --profile profiles/slurm figures/fig2.pdf
#   snakemake --report report.html                     # every figure and table, captioned
#
# Without a target, `snakemake` builds ALL_TARGETS (each rule file adds its own). Every
# rule file is included; a figure group is switched off in the config (e.g. `md: null`).


from snakemake.utils import min_version, validate

min_version("8.20")


configfile: "config.yaml"


validate(config, "rules/schemas/config.schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/embedded.smk"
include: "rules/experiments.smk"
include: "rules/pretrain_size.smk"
include: "rules/md.smk"
include: "rules/figures.smk"


rule all:
    """Default target: everything the included rule files registered in ALL_TARGETS."""
    default_target: True
    input:
        ALL_TARGETS,
