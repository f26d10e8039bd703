# Shared by all the rule files. The experimental design built once from the config
# (gmnn.workflow.Design; its checks name the key at fault), path templates (all defined
# here, before any rule uses them), input functions and the report's captions.

import os
import re

from snakemake.exceptions import WorkflowError

from gmnn.workflow import ConfigError, Design, ModelRef, Setting, checked
from gmnn.workflow.ani import ani1ccx_record
from gmnn.workflow.grid import EMBEDDED_ANI_FILES, LEVELS
from gmnn.workflow import ala10 as gmnn_ala10
from gmnn.workflow import resources as gmnn_resources

# The design (gmnn.workflow.design, .md17, .ani, .ala10): the typed sections and the
# cross-checks that JSON schema cannot express, run at start-up.
try:
    DESIGN = Design.from_config(config)
except ConfigError as err:
    raise WorkflowError(str(err)) from None

GRID = DESIGN.grid
dft_train_sizes = GRID.dft_train_sizes  # by molecule: md17.dft.n_train and Fig. 3
MD17 = config["md17"]
MOLECULES = GRID.molecules
SEEDS = GRID.seeds
SETTINGS = GRID.settings
TRAIN_SIZES = GRID.train_sizes
COMP6_SUBSETS = DESIGN.ani.comp6_subsets if DESIGN.ani else []
FIG3, MD = config.get("pretrain_size"), config.get("md")
SPECTRA, BOND_SCAN = config.get("spectra"), config.get("bond_scan")
ALL_TARGETS = []  # rule files append the targets of `snakemake` without arguments


def alternatives(values):
    # no values: a pattern that matches nothing (an empty one would match anything)
    return "|".join(re.escape(str(v)) for v in values) or "(?!)"


def setting(wildcards):
    """The parsed setting of a job (gmnn.workflow.Setting)."""
    return Setting.parse(wildcards.setting)


# --------------------------------------------------------------------------------------------
# Path templates (wildcards: molecule, level, seed, setting, n, npre, temp).

# data
DATA_MD17 = "data/md17/{molecule}/{level}.h5"
SPLIT_MD17 = "data/splits/md17/{molecule}/{level}_seed{seed}.json"
DATA_ANI = "data/ani/{name}.h5"  # name: ani1x, ani1ccx, comp6_<subset>
DATA_EMBEDDED = "data/embedded/{molecule}_{level}.h5"  # committed (rules/embedded.smk)
# committed (rules/embedded_ani.smk): the ANI-1x, ANI-1ccx and COMP6 roles of the embedded default
EMBEDDED_ANI = EMBEDDED_ANI_FILES
EMBEDDED_COMP6 = "data/embedded/comp6_{subset}.h5"
RAW_DOWNLOAD = "data/raw/{source}/download/{filename}"
RAW_STAGED = "data/raw/{source}/{item}"  # raw files of one data set, ready to convert

# models and per-model results of the MD17 grid (Fig. 2; also used by Figs. 3, 4, S1-S5)
MODEL_PRETRAINED = "models/md17/{molecule}/pretrain/seed{seed}/model"
MODEL_CC = "models/md17/{molecule}/{setting}/n{n}/seed{seed}/model"
METRICS_CC = "results/md17/{molecule}/{setting}/n{n}/seed{seed}/metrics.json"
METRICS_PRETRAINED = "results/md17/{molecule}/pretrain/seed{seed}/metrics_{level}.json"

# Fig. 3: models pre-trained on npre DFT structures, and their fine-tuned models
MODEL_PRETRAINED_N = (
    "models/md17_pretrain_size/{molecule}/pretrain/n{npre}/seed{seed}/model"
)
MODEL_FINETUNED_N = (
    "models/md17_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}/model"
)
METRICS_FINETUNED_N = "results/md17_pretrain_size/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}/metrics.json"

# molecular dynamics of one model at one temperature
MD_RUN = "md17/{molecule}/{setting}/n{n}/seed{seed}/T{temp}K"
MD_TRAJECTORY = f"trajectories/{MD_RUN}/md.traj"
MD_SUMMARY = f"results/md17/md/{MD_RUN.removeprefix('md17/')}/summary.json"
MD_SPECTRUM = MD_SUMMARY.replace("summary.json", "spectrum.csv")
MD_PEAKS = MD_SUMMARY.replace("summary.json", "peaks.csv")


# tidy tables: the only inputs of the figures. Each is marked for `snakemake --report` on
# the path itself (caption report/tables/<file name>.rst), which flags it both as the
# output of its rule and as an input of its figure rule (a report limited to the figure
# rules, --profile profiles/figures, has the tables too).
def report_table(path, category, subcategory, result, labels, caption=None):
    """`path` marked for the report; `labels()` gives its molecules and seeds labels
    (called only for jobs in the DAG, so it may use MD or FIG3)."""
    name = caption or os.path.splitext(os.path.basename(path))[0]
    return report(
        path,
        caption=os.path.join(workflow.basedir, "report", "tables", f"{name}.rst"),
        category=category,
        subcategory=subcategory,
        labels=lambda wildcards: {"result": result, **labels()},
    )


def grid_labels(molecules=None):
    """Report labels of a table over the MD17 grid (every seed)."""
    return {
        "molecules": ", ".join(molecules or MOLECULES),
        "seeds": f"{len(SEEDS)} ({', '.join(map(str, SEEDS))})",
    }


def md_labels():
    """Report labels of an MD or bond table (the models of seed md.seed)."""
    return {"molecules": MD["molecule"], "seeds": f"1 (seed {MD['seed']})"}


TRANSFER, VIBRATIONS = "MD17 transfer learning", "MD17 vibrational analysis"
FIG2 = "Fig. 2: learning curves"
TABLE_FIG2_CURVES, TABLE_FIG2_REFERENCE = [
    report_table(f"results/md17/{name}.csv", TRANSFER, FIG2, result, grid_labels)
    for name, result in [
        ("fig2_learning_curves", "table: learning curves"),
        ("fig2_dft_reference", "table: DFT-only reference"),
    ]
]
TABLE_FIG3 = report_table(
    "results/md17/fig3_pretrain_size.csv",
    TRANSFER,
    "Fig. 3: pre-training set size",
    "table: errors by pre-training set size",
    lambda: grid_labels(FIG3["molecules"]),
)
TABLES_MD, TABLES_BONDS = [
    {
        key: report_table(
            f"results/md17/{name}.csv", VIBRATIONS, sub, f"table: {what}", md_labels
        )
        for key, name, what in tables
    }
    for sub, tables in [
        (
            "Figs. 4, S3-S5: power spectra",
            [
                ("runs", "md_runs", "MD runs"),
                ("spectra", "spectra", "power spectra"),
                ("peaks", "spectra_peaks", "stretch peaks"),
            ],
        ),
        (
            "Figs. S1, S2: bond scans",
            [
                ("histograms", "bond_histograms", "bond-length histograms"),
                ("scans", "bond_scans", "bond scans"),
                ("frequencies", "harmonic_frequencies", "harmonic wavenumbers"),
            ],
        ),
    ]
]


def md17_data(molecule, level):
    """Converted MD17 data of `molecule` at `level` ("dft" pre-training, "cc" coupled cluster)."""
    return DATA_MD17.format(molecule=molecule, level=level)


def md17_split(molecule, level, seed):
    """Split of `md17_data(molecule, level)`; `train[:n]` for every training size."""
    return SPLIT_MD17.format(molecule=molecule, level=level, seed=seed)


def ani_data(name):
    """Converted ANI-1x or ANI-1ccx data (ani.source `ani`), or the committed embedded
    data set of that role (ani.source `embedded`)."""
    if (config.get("ani") or {}).get("source") == "embedded":
        return EMBEDDED_ANI["train" if name == "ani1x" else "accurate"]
    return DATA_ANI.format(name=name)


def comp6_data(subset):
    """A converted COMP6 subset, or the embedded held-out subset of that name."""
    if (config.get("ani") or {}).get("source") == "embedded":
        return EMBEDDED_COMP6.format(subset=subset)
    return DATA_ANI.format(name=f"comp6_{subset}")


# --------------------------------------------------------------------------------------------
# The MD17 design of Figs. 3, 4, S1-S5 (gmnn.workflow.md17).

BOND_MODELS = DESIGN.md.bond_models if DESIGN.md else []
SPECTRA_FIGURES = DESIGN.md.spectra_figures if DESIGN.md else {}
BOND_FIGURES = DESIGN.md.bond_figures if DESIGN.md else {}


def pretrained_model(molecule, npre, seed):
    """Directory of the model pre-trained on `npre` DFT structures (Fig. 2's at n_train)."""
    if int(npre) == GRID.dft_n_train:
        return MODEL_PRETRAINED.format(molecule=molecule, seed=seed)
    return MODEL_PRETRAINED_N.format(molecule=molecule, npre=npre, seed=seed)


def finetuned_metrics(molecule, npre, setting, n, seed):
    """metrics.json of a model fine-tuned from the one pre-trained on `npre` structures."""
    if int(npre) == GRID.dft_n_train:
        return METRICS_CC.format(molecule=molecule, setting=setting, n=n, seed=seed)
    return METRICS_FINETUNED_N.format(
        molecule=molecule, npre=npre, setting=setting, n=n, seed=seed
    )


def model_dir(molecule, ref, seed):
    """Directory of the MD17-grid model `ref` (a gmnn.workflow.ModelRef)."""
    if ref.setting == "pretrain":
        return MODEL_PRETRAINED.format(molecule=molecule, seed=seed)
    return MODEL_CC.format(
        molecule=molecule, setting=ref.setting, n=ref.n_train, seed=seed
    )


def model_files(directory):
    return [f"{directory}/model.json", f"{directory}/weights.npz"]


def md_paths(pattern):
    """`pattern` of every MD run: md.models x md.temperatures_K."""
    return [pattern.format(**run) for run in DESIGN.md.runs()]


# --------------------------------------------------------------------------------------------
# Parameters and inputs of the training and MD rules.


def training_params(wildcards):
    """The `training` section (gmnn.train.TrainConfig) with this job's seed; the loss
    follows from the setting (gmnn.workflow.train_job)."""
    return GRID.training_params(wildcards.seed)


def pretrained_inputs(wildcards):
    """Model files of the pre-trained model a fine-tuning job starts from."""
    if not setting(wildcards).finetuned:
        return []
    npre = getattr(wildcards, "npre", GRID.dft_n_train)
    return model_files(pretrained_model(wildcards.molecule, npre, wildcards.seed))


def md_params(wildcards):
    """The md.dynamics section (gmnn.md.MDConfig) with this run's temperature, length
    and seed."""
    return DESIGN.md.run_params(wildcards.temp, wildcards.seed)


def md_model(wildcards):
    ref = ModelRef(wildcards.setting, int(wildcards.n))
    return model_files(model_dir(wildcards.molecule, ref, wildcards.seed))


# --------------------------------------------------------------------------------------------
# Embedded ANI-like data (rules/embedded_ani.smk): the systems.

EMBEDDED_ANI_CONFIG = config["embedded_ani"]
EMBEDDED_ANI_SYSTEMS = DESIGN.embedded_ani_systems
EMBEDDED_ANI_SAMPLE = "data/embedded_work/ani/sample/{system}.npz"
EMBEDDED_ANI_LABEL = "data/embedded_work/ani/accurate/{system}.npz"
EMBEDDED_ANI_TRAIN = DESIGN.embedded_ani_train


# --------------------------------------------------------------------------------------------
# The ANI study (rules/ani.smk; gmnn.workflow.ani): paths, tables and inputs.

ANI = config.get("ani") or {}
ANI_SEEDS = DESIGN.ani.seeds if ANI else []
ANI_SOURCE = ANI.get("source", "ani")
# how figures, tables and captions name its data sets (the embedded stand-ins as such)
ANI_NAMES = DESIGN.ani.names._asdict() if ANI else {}
ANI_SIZES = DESIGN.ani.pretrain_sizes if ANI else []
ANI_CC_SIZES = DESIGN.ani.cc_sizes if ANI else []


# the model section of every ANI run: `model`, then `ani.model` over it
ANI_MODEL_CONFIG = DESIGN.ani.model_config if DESIGN.ani else None


def committed(path):
    """An input of the committed embedded splits and models (rules/ani.smk): ancient."""
    return ancient(path) if ANI_SOURCE == "embedded" else path


def ani_training(name):
    """TrainConfig of the runs on `name` (`ani.ani1x.training` over `ani.training`)."""
    return lambda wildcards: DESIGN.ani.training_params(wildcards.seed, name)


SPLIT_ANI = "data/splits/ani/{name}_seed{seed}.json"
MODEL_ANI = "models/ani/ani1x/n{npre}/seed{seed}/model"
METRICS_COMP6 = "results/ani/comp6/n{npre}/seed{seed}.json"
MODEL_ANI1CCX = "models/ani/ani1ccx/{setting}/n{n}/seed{seed}/model"
METRICS_ANI1CCX = "results/ani/ani1ccx/{setting}/n{n}/seed{seed}/metrics.json"
MODEL_ANI1CCX_FT = "models/ani/ani1ccx/pre{npre}/{setting}/n{n}/seed{seed}/model"
METRICS_ANI1CCX_FT = (
    "results/ani/ani1ccx/pre{npre}/{setting}/n{n}/seed{seed}/metrics.json"
)
MODEL_ANI_MD17 = "models/ani/md17/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}/model"
METRICS_ANI_MD17 = (
    "results/ani/md17/{molecule}/pre{npre}/{setting}/n{n}/seed{seed}/metrics.json"
)
METRICS_ANI_MD17_PRETRAINED = (
    "results/ani/md17/{molecule}/pre{npre}/pretrained/n{n}/seed{seed}/metrics.json"
)
ANI_STUDY = ANI_NAMES.get("study", "ANI")


def ani_labels():
    return {
        "data": ANI_STUDY,
        "seeds": f"{len(ANI_SEEDS)} ({', '.join(map(str, ANI_SEEDS))})",
    }


TABLE_TABLE1, TABLE_FIG5, TABLE_FIG6 = [
    report_table(
        f"results/ani/{name}.csv", ANI_STUDY, sub, f"table: {what}", ani_labels
    )
    for name, sub, what in [
        ("table1_comp6", "Table 1: COMP6", "COMP6 errors"),
        (
            "fig5_learning_curves",
            "Fig. 5: ANI-1ccx learning curves",
            "ANI-1ccx learning curves",
        ),
        (
            "fig6_pretrain_size",
            "Fig. 6: ANI-1x pre-training size",
            "errors by ANI-1x pre-training size",
        ),
    ]
]


def ani_model(npre, seed):
    return MODEL_ANI.format(npre=npre, seed=seed)


def ani_split(name, seed):
    return SPLIT_ANI.format(name=name, seed=seed)


def ani_model_dir(ref, seed):
    """Directory of one seed's model of the ANI study (a gmnn.workflow.ani.AniModel)."""
    if ref.setting is None:
        return ani_model(ref.npre, seed)
    if ref.npre is None:
        return MODEL_ANI1CCX.format(setting=ref.setting, n=ref.n, seed=seed)
    return MODEL_ANI1CCX_FT.format(
        npre=ref.npre, setting=ref.setting, n=ref.n, seed=seed
    )


def fig5_metrics():
    """The ANI-1ccx runs of Fig. 5: every setting, size and seed (and pre-training size)."""
    return [
        (METRICS_ANI1CCX_FT if r.npre else METRICS_ANI1CCX).format(
            npre=r.npre, setting=r.setting, n=r.n, seed=s
        )
        for r in (DESIGN.ani.fig5_runs() if ANI else [])
        for s in ANI_SEEDS
    ]


FIG6 = ANI.get("fig6", {})
# The published potentials (Sec. 3.2): every seed's model of one setting as an ensemble.
ANI_EXPORTS = {
    name: {"models": [ani_model_dir(e.model, s) for s in ANI_SEEDS], "card": e.card}
    for name, e in (DESIGN.ani.exports if ANI else {}).items()
}
ANI_FIGURES = DESIGN.ani.figures if ANI else []
ANI_TARGETS = ANI_FIGURES + [f"models/export/{name}" for name in ANI_EXPORTS]


# --------------------------------------------------------------------------------------------
# Deca-alanine MD (Figs. 7, 8; rules/ala10.smk; gmnn.workflow.ala10), one job per stage.
# Off with `ala10: null`, and with `ani: null` (its ensembles are the ANI models).

ALA10_DESIGN = DESIGN.ala10
ALA10 = ALA10_DESIGN.section if ALA10_DESIGN else None
ALA10_PHASES = ALA10_DESIGN.phases if ALA10_DESIGN else []
ALA10_MODELS = ALA10_DESIGN.models if ALA10_DESIGN else []
ALA10_FIGURES = gmnn_ala10.FIGURES
EMBEDDED_ALA10 = "data/embedded/ala10_helix.extxyz"  # committed (rules/embedded.smk)
ALA10_HELIX = "data/ala10/helix.extxyz"
ALA10_WATER_BOX = "data/ala10/water_box.extxyz"
ALA10_STAGE = "ala10/{phase}/{model}/stage{stage}"
ALA10_TRAJECTORY = f"trajectories/ani/{ALA10_STAGE}/md.traj"
ALA10_SUMMARY = f"results/ani/{ALA10_STAGE}/summary.json"
ALA10_RUN_SERIES = "results/ani/ala10/{phase}/{model}/rmsd.csv"
ALA10_RUN_STAGES = "results/ani/ala10/{phase}/{model}/stages.csv"
ALA10_STRUCTURES_RUN = "results/ani/ala10/{phase}/{model}/structures.csv"
ALA10_STRUCTURES = "results/ani/ala10_structures.csv"


def ala10_labels():
    return {
        **ani_labels(),
        "ensemble": f"{len(ANI_SEEDS)} members (seeds {', '.join(map(str, ANI_SEEDS))})",
    }


TABLES_ALA10 = {
    "series": report_table(
        "results/ani/ala10_rmsd.csv",
        ANI_STUDY,
        "Figs. 7, 8: deca-alanine MD",
        "Ala10 RMSD and helicity series",
        ala10_labels,
    ),
    # (its own caption: report/tables/md_runs.rst is that of results/md17/md_runs.csv)
    "runs": report_table(
        "results/ani/md_runs.csv",
        ANI_STUDY,
        "Figs. 7, 8: deca-alanine MD",
        "Ala10 MD runs (stability, ms per step)",
        ala10_labels,
        caption="ala10_md_runs",
    ),
}


def ala10_members(model):
    """The model directories of one ensemble, one per seed."""
    return [ani_model_dir(ALA10_DESIGN.members(model), s) for s in ANI_SEEDS]


def ala10_base():
    """The MDConfig shared by every stage (`ala10.dynamics`)."""
    return ALA10_DESIGN.base


def ala10_stage_paths(pattern, phase, model):
    return [
        pattern.format(phase=phase, model=model, stage=k)
        for k in range(ALA10_DESIGN.n_stages(phase))
    ]


def ala10_stage_inputs(wildcards):
    """The ensemble's model files, the start structure, and the previous stage's
    trajectory and summary (stage k > 0)."""
    k = int(wildcards.stage)
    inputs = {
        "models": [f for m in ala10_members(wildcards.model) for f in model_files(m)],
        "start": ALA10_HELIX if wildcards.phase == "gas" else ALA10_WATER_BOX,
    }
    if k > 0:
        previous = {"phase": wildcards.phase, "model": wildcards.model, "stage": k - 1}
        inputs["previous_trajectory"] = ALA10_TRAJECTORY.format(**previous)
        inputs["previous_summary"] = ALA10_SUMMARY.format(**previous)
    return inputs


def ala10_phase_tables(wildcards):
    """The per-run tables of the figure's phase (so that Fig. 7 needs no water run)."""
    phase = {v: k for k, v in ALA10_FIGURES.items()}[wildcards.fig]
    return {
        name: [pattern.format(phase=phase, model=m) for m in ALA10_MODELS]
        for name, pattern in (
            ("series", ALA10_RUN_SERIES),
            ("runs", ALA10_RUN_STAGES),
            ("structures", ALA10_STRUCTURES_RUN),
        )
    }


# --------------------------------------------------------------------------------------------
# Resources of the training and MD rules: `runtime` (a SLURM time limit, minutes) and
# `mem_mb` from the cost model (gmnn.workflow.resources.job_estimate: each job sized from
# the design, per-step costs of benchmarks/reference_costs.json, GPU rules of
# profiles/slurm); `gmnn cost` adds them up per figure. --set-resources overrides them.

try:
    REFERENCE_COSTS = gmnn_resources.load_reference(
        os.path.join(workflow.basedir, "benchmarks", "reference_costs.json")
    )
except ValueError as err:
    raise WorkflowError(f"Invalid reference costs: {err}") from None
GPU_RULES = gmnn_resources.gpu_rules(
    os.path.join(workflow.basedir, "profiles", "slurm", "config.yaml")
)


def job_estimate(rulename, wildcards):
    return gmnn_resources.job_estimate(
        DESIGN, rulename, dict(wildcards), REFERENCE_COSTS, gpu=rulename in GPU_RULES
    )


def job_runtime(wildcards, rulename):
    """`runtime` of a training or MD rule (gmnn.workflow.resources.runtime_minutes)."""
    return gmnn_resources.runtime_minutes(job_estimate(rulename, wildcards)[0])


def job_mem_mb(wildcards, rulename):
    """`mem_mb` of a training or MD rule (the data held and the largest batch)."""
    return job_estimate(rulename, wildcards)[1]
