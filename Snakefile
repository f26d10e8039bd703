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


import os

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from gmnn.workflow.schema import ConfigSchemaError, validate_config

min_version("8.20")


# A YAML syntax error in config.yaml, named with its line and column (Snakemake's own
# message names neither). Files given with --configfile are read before this Snakefile:
# for those, `snakemake --verbose` shows the line.
try:
    with open("config.yaml", encoding="utf-8") as config_text:
        yaml.safe_load(config_text)
except FileNotFoundError:
    pass  # Snakemake's configfile directive reports it
except yaml.YAMLError as err:
    raise WorkflowError(f"config.yaml is not valid YAML:\n{err}") from None


configfile: "config.yaml"


# The schema, with the names gmnn defines (settings, integrators, ensembles) filled in
# from gmnn; defaults filled; an error names the key at fault.
try:
    validate_config(
        config, os.path.join(workflow.basedir, "rules", "schemas", "config.schema.yaml")
    )
except ConfigSchemaError as err:
    raise WorkflowError(str(err)) from None


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/embedded.smk"
include: "rules/embedded_ani.smk"
include: "rules/experiments.smk"
include: "rules/molecules.smk"
include: "rules/pretrain_size.smk"
include: "rules/md.smk"
include: "rules/ani.smk"
include: "rules/ala10.smk"
include: "rules/claims.smk"
include: "rules/figures.smk"


rule all:
    """Default target: everything the included rule files registered in ALL_TARGETS."""
    default_target: True
    input:
        ALL_TARGETS,
