# gmnn-tl: reproduce Zaverkin et al. (2023), "Transfer learning for chemically accurate
# interatomic neural network potentials".
#
#   snakemake --cores 48 figures/fig2.pdf              # paper scale (config.yaml)
#   snakemake --profile profiles/embedded              # offline embedded default
#   snakemake --profile profiles/slurm figures/fig2.pdf
#
# Without a target, `snakemake` builds ALL_TARGETS (each rule file adds its own).


from pathlib import Path

from snakemake.utils import min_version, validate

min_version("8.20")


configfile: "config.yaml"


validate(config, "rules/schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"


# Rule files written alongside this one; each is used once it exists.
for optional in ("embedded", "experiments", "pretrain_size", "md", "figures"):
    if (Path(workflow.basedir) / "rules" / f"{optional}.smk").exists():

        include: f"rules/{optional}.smk"


rule all:
    """Default target: everything the included rule files registered in ALL_TARGETS."""
    default_target: True
    input:
        ALL_TARGETS,
