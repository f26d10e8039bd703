# Shared by all rule files. The config as typed gmnn settings, the experimental design
# read from the config, path templates (named by what they hold, all defined here, before
# any rule uses them), and the checks that JSON schema cannot express. No science here
# (see gmnn), and no knowledge of setting names (gmnn.workflow.Setting parses them).

import math
import os
import re

from snakemake.exceptions import WorkflowError

from gmnn.workflow import resources as gmnn_cost
from gmnn.refdata import embedded_ani
from gmnn.model.config import ModelConfig
from gmnn.train import TrainConfig
from gmnn.workflow import ModelRef, Setting, typed_settings
from gmnn.workflow import md_steps as gmnn_md_steps
from gmnn.md.protocol import stage_configs as gmnn_stage_configs

LEVELS = ("dft", "cc")

MD17 = config["md17"]
MOLECULES = MD17["molecules"]
SEEDS = MD17["seeds"]
SETTINGS = MD17["settings"]
TRAIN_SIZES = sorted(MD17["cc"]["train_sizes"])
COMP6_SUBSETS = (config.get("ani") or {}).get("comp6_subsets", [])
FIG3 = config.get("pretrain_size")
MD = config.get("md")
SPECTRA = config.get("spectra")
BOND_SCAN = config.get("bond_scan")
ALL_TARGETS = []  # rule files append the targets of `snakemake` without arguments

# The typed sections (model, training, finetune, md.dynamics), checked by gmnn at start-up
# (errors name the key); the rules pass them on as plain mappings.
try:
    TYPED = typed_settings(config)
except ValueError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None


def alternatives(values):
    return "|".join(re.escape(str(v)) for v in values)


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
EMBEDDED_ANI = {
    "train": "data/embedded/ani_xtb.h5",
    "accurate": "data/embedded/ani_wb97x.h5",
}
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
def report_table(path, category, subcategory, result, labels):
    """`path` marked for the report; `labels()` gives its molecules and seeds labels
    (called only for jobs in the DAG, so it may use MD or FIG3)."""
    name = os.path.splitext(os.path.basename(path))[0]
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
TABLE_FIG2_CURVES = report_table(
    "results/md17/fig2_learning_curves.csv",
    TRANSFER,
    "Fig. 2: learning curves",
    "table: learning curves",
    grid_labels,
)
TABLE_FIG2_REFERENCE = report_table(
    "results/md17/fig2_dft_reference.csv",
    TRANSFER,
    "Fig. 2: learning curves",
    "table: DFT-only reference",
    grid_labels,
)
TABLE_FIG3 = report_table(
    "results/md17/fig3_pretrain_size.csv",
    TRANSFER,
    "Fig. 3: pre-training set size",
    "table: errors by pre-training set size",
    lambda: grid_labels(FIG3["molecules"]),
)
TABLES_MD = {
    key: report_table(
        f"results/md17/{name}.csv",
        VIBRATIONS,
        "Figs. 4, S3-S5: power spectra",
        f"table: {result}",
        md_labels,
    )
    for key, name, result in [
        ("runs", "md_runs", "MD runs"),
        ("spectra", "spectra", "power spectra"),
        ("peaks", "spectra_peaks", "stretch peaks"),
    ]
}
TABLES_BONDS = {
    key: report_table(
        f"results/md17/{name}.csv",
        VIBRATIONS,
        "Figs. S1, S2: bond scans",
        f"table: {result}",
        md_labels,
    )
    for key, name, result in [
        ("histograms", "bond_histograms", "bond-length histograms"),
        ("scans", "bond_scans", "bond scans"),
        ("frequencies", "harmonic_frequencies", "harmonic wavenumbers"),
    ]
}


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


def embedded_data_file(molecule, level):
    return DATA_EMBEDDED.format(molecule=molecule, level=level)


def dft_train_sizes(molecule):
    """Pre-training set sizes of `molecule`: md17.dft.n_train, and Fig. 3's grid for its
    molecules (nested in one split: train[:N])."""
    sizes = {MD17["dft"]["n_train"]}
    if FIG3 and molecule in FIG3["molecules"]:
        sizes.update(FIG3["sizes"])
    return sorted(sizes)


# --------------------------------------------------------------------------------------------
# The experimental design, read from the config (Figs. 3, 4, S1-S5).


def model_refs(texts, where):
    try:
        return [ModelRef.parse(t, MD["sizes"], where) for t in texts]
    except ValueError as err:
        raise WorkflowError(f"Invalid configuration: {err}") from None


MD_MODELS = model_refs(MD["models"], "md.models") if MD else []
BOND_MODELS = model_refs(BOND_SCAN["models"], "bond_scan.models") if MD else []
SPECTRA_FIGURES = {
    name: {
        "temperature_K": fig["temperature_K"],
        "panels": [
            [
                [m.setting, m.n_train]
                for m in model_refs(panel, f"figures.spectra.{name}")
            ]
            for panel in fig["panels"]
        ],
    }
    for name, fig in (
        config.get("figures", {}).get("spectra", {}) if MD else {}
    ).items()
}
BOND_FIGURES = config.get("figures", {}).get("bonds", {}) if MD else {}


def pretrained_model(molecule, npre, seed):
    """Directory of the model pre-trained on `npre` DFT structures (Fig. 2's at n_train)."""
    if int(npre) == MD17["dft"]["n_train"]:
        return MODEL_PRETRAINED.format(molecule=molecule, seed=seed)
    return MODEL_PRETRAINED_N.format(molecule=molecule, npre=npre, seed=seed)


def finetuned_metrics(molecule, npre, setting, n, seed):
    """metrics.json of a model fine-tuned from the one pre-trained on `npre` structures."""
    if int(npre) == MD17["dft"]["n_train"]:
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
    return [
        pattern.format(
            molecule=MD["molecule"],
            setting=m.setting,
            n=m.n_train,
            seed=MD["seed"],
            temp=t,
        )
        for m in MD_MODELS
        for t in MD["temperatures_K"]
    ]


def md_steps():
    """Steps of one MD run: equilibration and production at md.dynamics.timestep_fs."""
    return gmnn_md_steps(MD, TYPED["md"].timestep_fs)


# --------------------------------------------------------------------------------------------
# Parameters, inputs and resources of the training and MD rules.


def training_params(wildcards):
    """The `training` section (gmnn.train.TrainConfig) with this job's seed; the loss
    follows from the setting (gmnn.workflow.train_job)."""
    return {
        **config.get("training", {}),
        "seed": int(wildcards.seed),
        "progress": False,
    }


def pretrained_inputs(wildcards):
    """Model files of the pre-trained model a fine-tuning job starts from."""
    if not setting(wildcards).finetuned:
        return []
    npre = getattr(wildcards, "npre", MD17["dft"]["n_train"])
    return model_files(pretrained_model(wildcards.molecule, npre, wildcards.seed))


def md_params(wildcards):
    """The md.dynamics section (gmnn.md.MDConfig) with this run's temperature, length
    and seed."""
    return {
        **(MD.get("dynamics") or {}),
        "temperature_K": float(wildcards.temp),
        "steps": md_steps(),
        "seed": int(wildcards.seed),
    }


def md_model(wildcards):
    ref = ModelRef(wildcards.setting, int(wildcards.n))
    return model_files(model_dir(wildcards.molecule, ref, wildcards.seed))


# --------------------------------------------------------------------------------------------
# Embedded ANI-like data (rules/embedded_ani.smk): the systems and their resources.

EMBEDDED_ANI_CONFIG = config["embedded_ani"]
try:
    EMBEDDED_ANI_SYSTEMS = embedded_ani.catalogue(EMBEDDED_ANI_CONFIG)
except ValueError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None
EMBEDDED_ANI_SAMPLE = "data/embedded_work/ani/sample/{system}.npz"
EMBEDDED_ANI_LABEL = "data/embedded_work/ani/accurate/{system}.npz"
# Walltime limits: about 4x the costs measured on one core (GFN2-xTB MD step 1-22 ms for
# 6-42 atoms, plus the relaxation; wB97X/6-31G* energy 2.5-7 s for 6-9 atoms).
EMBEDDED_ANI_SECONDS_PER_STEP = 0.1
EMBEDDED_ANI_MINUTES_PER_ENERGY = 0.5


def embedded_ani_steps(system):
    s = EMBEDDED_ANI_CONFIG["sampling"]
    return s["n_equil"] + s["stride"] * EMBEDDED_ANI_SYSTEMS[system]["frames"]


EMBEDDED_ANI_TRAIN = [
    name for name, spec in EMBEDDED_ANI_SYSTEMS.items() if spec["role"] == "train"
]


# --------------------------------------------------------------------------------------------
# The ANI study (rules/ani.smk): its design, paths, tables and resources.

ANI = config.get("ani") or {}
ANI_SEEDS = ANI.get("seeds", [])
ANI_SOURCE = ANI.get("source", "ani")


def ani_pretrain_sizes():
    """Every ANI-1x pre-training size (nested in one split per seed: train[:N])."""
    if not ANI:
        return []
    return sorted(
        {
            *ANI["table1"]["sizes"],
            *ANI["fig5"]["pretrain_sizes"],
            *ANI["fig6"]["pretrain_sizes"],
        }
    )


def ani_model_config():
    """The model section of every ANI run: `model`, then `ani.model` over it."""
    return {**(config.get("model") or {}), **(ANI.get("model") or {})}


def ani_training(wildcards):
    """TrainConfig of the ANI-1x and ANI-1ccx runs: `training`, `ani.training` over it."""
    return {
        **(config.get("training") or {}),
        **(ANI.get("training") or {}),
        "seed": int(wildcards.seed),
        "progress": False,
    }


def check_ani_config():
    """Problems of the `ani` section the schema cannot express (errors name the key)."""
    if not ANI:
        return []
    problems = []
    try:
        ModelConfig.from_dict(ani_model_config(), where="model + ani.model")
        TrainConfig.from_dict(
            ani_training(type("W", (), {"seed": 0})), where="training + ani.training"
        )
    except ValueError as err:
        problems.append(str(err))
    for molecule in ANI["fig6"]["molecules"]:
        if molecule not in MOLECULES:
            problems.append(
                f"ani.fig6.molecules: {molecule} is not in md17.molecules {MOLECULES}"
            )
    if ANI["fig6"]["n_train"] not in TRAIN_SIZES:
        problems.append(
            f"ani.fig6.n_train={ANI['fig6']['n_train']} is not in md17.cc.train_sizes "
            f"{TRAIN_SIZES} (its from-scratch lines are the Fig. 2 runs)"
        )
    for key in ("scratch_E", "scratch_EF"):
        if key not in SETTINGS:
            problems.append(f"ani.fig6 needs {key} in md17.settings (its black lines)")
    if ANI_SOURCE == "embedded":
        held = list(config["embedded_ani"]["heldout"])
        for subset in COMP6_SUBSETS:
            if subset not in held:
                problems.append(
                    f"ani.comp6_subsets: {subset!r} is not an embedded_ani.heldout "
                    f"subset {held} (ani.source is 'embedded')"
                )
    return problems


ANI_SIZES = ani_pretrain_sizes()
ANI_CC_SIZES = ANI["ani1ccx"]["train_sizes"] if ANI else []

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
ANI_STUDY = "ANI-1x, ANI-1ccx and COMP6"


def ani_labels():
    return {
        "data": "embedded" if ANI_SOURCE == "embedded" else "ANI-1x/ANI-1ccx/COMP6",
        "seeds": f"{len(ANI_SEEDS)} ({', '.join(map(str, ANI_SEEDS))})",
    }


TABLE_TABLE1 = report_table(
    "results/ani/table1_comp6.csv",
    ANI_STUDY,
    "Table 1: COMP6",
    "table: COMP6 errors",
    ani_labels,
)
TABLE_FIG5 = report_table(
    "results/ani/fig5_learning_curves.csv",
    ANI_STUDY,
    "Fig. 5: ANI-1ccx learning curves",
    "table: ANI-1ccx learning curves",
    ani_labels,
)
TABLE_FIG6 = report_table(
    "results/ani/fig6_pretrain_size.csv",
    ANI_STUDY,
    "Fig. 6: ANI-1x pre-training size",
    "table: errors by ANI-1x pre-training size",
    ani_labels,
)


def ani_model(npre, seed):
    return MODEL_ANI.format(npre=npre, seed=seed)


def ani_split(name, seed):
    return SPLIT_ANI.format(name=name, seed=seed)


def ani1ccx_record(wc, npre=None):
    return {
        "molecule": "ani1ccx",
        "setting": wc.setting,
        "n_train": int(wc.n),
        "seed": int(wc.seed),
        "test_set": "ani1ccx",
        "n_pretrain": npre,
    }


def fig5_metrics():
    """The ANI-1ccx runs of Fig. 5: every setting, size and seed (and pre-training size)."""
    out = []
    if not ANI:
        return out
    for setting in ANI["fig5"]["settings"]:
        if Setting.parse(setting).finetuned:
            out += expand(
                METRICS_ANI1CCX_FT,
                npre=ANI["fig5"]["pretrain_sizes"],
                setting=setting,
                n=ANI_CC_SIZES,
                seed=ANI_SEEDS,
            )
        else:
            out += expand(
                METRICS_ANI1CCX, setting=setting, n=ANI_CC_SIZES, seed=ANI_SEEDS
            )
    return out


FIG6 = ANI.get("fig6", {})


# The published potentials (Sec. 3.2): every seed's model of one setting as an ensemble.
ANI_EXPORTS = {}
if ANI and ANI.get("export", True):
    ANI_TOP = max(ANI["table1"]["sizes"])
    ANI_LEVELS = (
        {"ani1x": "GFN2-xTB (tblite)", "ani1ccx": "wB97X/6-31G* (PySCF)"}
        if ANI_SOURCE == "embedded"
        else {"ani1x": "wB97X/6-31G(d)", "ani1ccx": "CCSD(T)*/CBS"}
    )
    ANI_EXPORTS["ani1x_pretrained"] = {
        "models": [ani_model(ANI_TOP, s) for s in ANI_SEEDS],
        "card": {
            "name": "ani1x_pretrained",
            "description": f"GM-NN pre-trained on {ANI_TOP} ANI-1x structures "
            "(energies and forces), for fine-tuning on organic molecules (H, C, N, O)",
            "pretraining": {
                "data": "ANI-1x" if ANI_SOURCE == "ani" else "embedded ANI-1x role",
                "level_of_theory": ANI_LEVELS["ani1x"],
                "labels": "EF",
                "n_train": ANI_TOP,
            },
            "seeds": ANI_SEEDS,
            "n_train": ANI_TOP,
        },
    }
    if (
        max(ANI["fig5"]["pretrain_sizes"]) == ANI_TOP
        and "finetune_E" in ANI["fig5"]["settings"]
    ):
        ANI_CC_TOP = max(ANI_CC_SIZES)
        ANI_EXPORTS["ani1ccx_finetuned"] = {
            "models": [
                MODEL_ANI1CCX_FT.format(
                    npre=ANI_TOP, setting="finetune_E", n=ANI_CC_TOP, seed=s
                )
                for s in ANI_SEEDS
            ],
            "card": {
                "name": "ani1ccx_finetuned",
                "description": f"The ANI-1x model fine-tuned on {ANI_CC_TOP} ANI-1ccx "
                "energies (discriminative fine-tuning)",
                "pretraining": ANI_EXPORTS["ani1x_pretrained"]["card"]["pretraining"],
                "finetuning": {
                    "data": (
                        "ANI-1ccx" if ANI_SOURCE == "ani" else "embedded ANI-1ccx role"
                    ),
                    "level_of_theory": ANI_LEVELS["ani1ccx"],
                    "labels": "E",
                    "n_train": ANI_CC_TOP,
                },
                "seeds": ANI_SEEDS,
                "n_train": ANI_CC_TOP,
            },
        }


ANI_FIGURES = (
    ["figures/table1.md", "figures/fig5.pdf", "figures/fig6.pdf"] if ANI else []
)
ANI_TARGETS = ANI_FIGURES + [f"models/export/{name}" for name in ANI_EXPORTS]


# --------------------------------------------------------------------------------------------
# Deca-alanine MD (Figs. 7, 8; rules/ala10.smk): ensembles of the ANI models (one member
# per seed of ani.seeds) in the gas phase and in water, each phase a staged protocol
# (gmnn.md.protocol), one job per stage. Off with `ala10: null`, and with `ani: null`
# (its models are the ANI half's).

ALA10 = (config.get("ala10") or None) if ANI else None
ALA10_PHASES = [p for p in ("gas", "water") if ALA10 and ALA10.get(p)]
ALA10_MODELS = ALA10["models"] if ALA10 else []
ALA10_TITLES = {
    "pretrained": "pre-trained on ANI-1x",
    "scratch": "from scratch on ANI-1ccx",
    "finetuned": "fine-tuned on ANI-1ccx",
}
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
ALA10_FIGURES = {"gas": "fig7", "water": "fig8"}


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
    "runs": report(
        "results/ani/md_runs.csv",
        caption=os.path.join(workflow.basedir, "report", "tables", "ala10_md_runs.rst"),
        category=ANI_STUDY,
        subcategory="Figs. 7, 8: deca-alanine MD",
        labels=lambda wildcards: {
            "result": "Ala10 MD runs (stability, ms per step)",
            **ala10_labels(),
        },
    ),
}


def ala10_sizes():
    """(n_pretrain, n_train) of the ensembles: null means the largest ani.table1 size and
    the largest ani.ani1ccx size (the paper's 4,194,304 and 399,360)."""
    n_pretrain = ALA10.get("n_pretrain") or max(ANI["table1"]["sizes"])
    n_train = ALA10.get("n_train") or max(ANI_CC_SIZES)
    return n_pretrain, n_train


def ala10_members(model):
    """The model directories of one ensemble, one per seed."""
    n_pretrain, n_train = ala10_sizes()
    path = {
        "pretrained": lambda s: ani_model(n_pretrain, s),
        "scratch": lambda s: MODEL_ANI1CCX.format(
            setting="scratch_E", n=n_train, seed=s
        ),
        "finetuned": lambda s: MODEL_ANI1CCX_FT.format(
            npre=n_pretrain, setting="finetune_E", n=n_train, seed=s
        ),
    }[model]
    return [path(s) for s in ANI_SEEDS]


def ala10_base():
    """The MDConfig shared by every stage (`ala10.dynamics`)."""
    return dict(ALA10.get("dynamics") or {})


def ala10_stage_configs(phase):
    return gmnn_stage_configs(
        ALA10[phase]["stages"], ala10_base(), f"ala10.{phase}.stages"
    )


def ala10_start(phase):
    return ALA10_HELIX if phase == "gas" else ALA10_WATER_BOX


def ala10_stage_paths(pattern, phase, model):
    return [
        pattern.format(phase=phase, model=model, stage=k)
        for k in range(len(ALA10[phase]["stages"]))
    ]


def ala10_stage_inputs(wildcards):
    """The ensemble's model files, the start structure, and the previous stage's
    trajectory and summary (stage k > 0)."""
    k = int(wildcards.stage)
    inputs = {
        "models": [f for m in ala10_members(wildcards.model) for f in model_files(m)],
        "start": ala10_start(wildcards.phase),
    }
    if k > 0:
        previous = {"phase": wildcards.phase, "model": wildcards.model, "stage": k - 1}
        inputs["previous_trajectory"] = ALA10_TRAJECTORY.format(**previous)
        inputs["previous_summary"] = ALA10_SUMMARY.format(**previous)
    return inputs


def ala10_atoms(phase):
    """Atoms of the simulated system: the 104-atom helix, plus 3 per water."""
    if phase == "gas":
        return 104
    return 104 + 3 * int(ALA10["water"]["solvation"]["n_water"])


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


def check_ala10_config():
    """Problems of the `ala10` section the schema cannot express (errors name the key)."""
    if not ALA10:
        return []
    problems = []
    for phase in ALA10_PHASES:
        try:
            configs = ala10_stage_configs(phase)
        except ValueError as err:
            problems.append(str(err))
            continue
        last = configs[-1].steps * configs[-1].timestep_fs / 1000.0
        if ALA10[phase]["equilibration_ps"] >= last:
            problems.append(
                f"ala10.{phase}.equilibration_ps={ALA10[phase]['equilibration_ps']} leaves "
                f"nothing of the last stage ({last} ps) to analyse"
            )
        if phase == "gas" and any(c.integrator.startswith("npt") for c in configs):
            problems.append(
                f"ala10.gas.stages: NPT needs a periodic box (the water phase)"
            )
    n_pretrain, n_train = ala10_sizes()
    if n_pretrain not in ANI_SIZES:
        problems.append(
            f"ala10.n_pretrain={n_pretrain} is not an ANI-1x pre-training size of the ani "
            f"section {ANI_SIZES}"
        )
    if n_train not in ANI_CC_SIZES:
        problems.append(
            f"ala10.n_train={n_train} is not in ani.ani1ccx.train_sizes {ANI_CC_SIZES}"
        )
    return problems


# --------------------------------------------------------------------------------------------
# Resources of the training and MD rules: `runtime` (a SLURM time limit, minutes) and
# `mem_mb` from one cost model, gmnn.workflow.resources, and each job's size: steps from its TrainConfig
# (training, ani.training) or MDConfig (md), atoms per structure, set and batch sizes, the
# data file it reads. The per-step costs are those of a reference machine,
# benchmarks/reference_costs.json (benchmarks/bench_gmnn.py --write-costs); the rules
# that profiles/slurm sends to GPUs run gpu_speedup times faster. The expected costs of
# every figure: `gmnn cost`. --set-resources still overrides any of them, e.g.
# `--set-resources pretrain:runtime=2880 pretrain_ani:mem_mb=64000` (or set-resources in
# a profile); a job killed by its time limit resumes from its checkpoint when rerun.

try:
    REFERENCE_COSTS = gmnn_cost.load_reference(
        os.path.join(workflow.basedir, "benchmarks", "reference_costs.json")
    )
except ValueError as err:
    raise WorkflowError(f"Invalid reference costs: {err}") from None
GPU_RULES = gmnn_cost.gpu_rules(
    os.path.join(workflow.basedir, "profiles", "slurm", "config.yaml")
)


def held_and_test(source, largest, n_valid, n_test, n_structures=None):
    """Structures of a data file (a job reads it whole) and of its test set (n_test, or
    null: the rest after the largest training set and the validation set)."""
    known = largest + n_valid + (n_test or 0)
    held = n_structures or gmnn_cost.DATA_FILE_STRUCTURES.get(source, known)
    held = max(held, known)
    return held, n_test if n_test is not None else held - largest - n_valid


def md17_structures(level):
    spec = MD17[level]
    if level == "dft":
        largest = max(max(dft_train_sizes(m)) for m in MOLECULES)
    else:
        largest = max(TRAIN_SIZES)
    n_structures = None
    if spec["source"] == "embedded":
        n_structures = config["embedded_data"][level]["n_structures"]
    return held_and_test(
        spec["source"], largest, spec["n_valid"], spec.get("n_test"), n_structures
    )


def ani_structures(name):
    spec = ANI[name]
    largest = max(ANI_SIZES) if name == "ani1x" else max(ANI_CC_SIZES)
    source = name if ANI_SOURCE == "ani" else "embedded"
    return held_and_test(source, largest, spec["n_valid"], spec.get("n_test", 0))


def md17_training_size(wildcards, level, n_train, loss, evaluates=True):
    held, n_test = md17_structures(level)
    training = TrainConfig.from_dict({**training_params(wildcards), "loss": loss})
    return training, {
        "n_train": int(n_train),
        "n_valid": MD17[level]["n_valid"],
        "atoms": gmnn_cost.molecule_atoms(wildcards.molecule),
        "n_test": n_test if evaluates else 0,
        "held": held,
    }


def ani_training_size(wildcards, name, n_train, loss):
    held, n_test = ani_structures(name)
    training = TrainConfig.from_dict({**ani_training(wildcards), "loss": loss})
    return training, {
        "n_train": int(n_train),
        "n_valid": ANI[name]["n_valid"],
        "atoms": gmnn_cost.ANI_MEAN_ATOMS,
        "n_test": n_test,
        "held": held,
    }


# The size of each training job: (TrainConfig, sizes), by rule.
TRAINING_JOBS = {
    "pretrain": lambda wc: md17_training_size(
        wc, "dft", MD17["dft"]["n_train"], "EF", evaluates=False
    ),
    "pretrain_size": lambda wc: md17_training_size(
        wc, "dft", wc.npre, "EF", evaluates=False
    ),
    "train_cc": lambda wc: md17_training_size(wc, "cc", wc.n, setting(wc).loss),
    "finetune_pretrain_size": lambda wc: md17_training_size(
        wc, "cc", wc.n, setting(wc).loss
    ),
    "finetune_ani_md17": lambda wc: md17_training_size(
        wc, "cc", wc.n, setting(wc).loss
    ),
    "pretrain_ani": lambda wc: ani_training_size(wc, "ani1x", wc.npre, "EF"),
    "train_ani1ccx": lambda wc: ani_training_size(wc, "ani1ccx", wc.n, "E"),
    "finetune_ani1ccx": lambda wc: ani_training_size(wc, "ani1ccx", wc.n, "E"),
}
MD_JOBS = ("md", "ala10_md")


def job_estimate(rulename, wildcards):
    """(expected seconds, mem_mb) of a training or MD job (gmnn.workflow.resources), None for a rule
    without a cost model."""
    gpu = rulename in GPU_RULES
    if rulename in TRAINING_JOBS:
        training, size = TRAINING_JOBS[rulename](wildcards)
        seconds = gmnn_cost.training_seconds(REFERENCE_COSTS, training, gpu=gpu, **size)
        del size["n_test"]
        return seconds, gmnn_cost.training_memory_mb(REFERENCE_COSTS, training, **size)
    if rulename == "ala10_md":
        atoms = ala10_atoms(wildcards.phase)
        cfg = ala10_stage_configs(wildcards.phase)[int(wildcards.stage)]
        members = len(ANI_SEEDS)
        seconds = gmnn_cost.md_seconds(
            REFERENCE_COSTS, steps=cfg.steps, atoms=atoms, members=members, gpu=gpu
        )
        return seconds, gmnn_cost.md_memory_mb(
            REFERENCE_COSTS, atoms=atoms, members=members
        )
    if rulename in MD_JOBS:
        atoms = gmnn_cost.molecule_atoms(wildcards.molecule)
        steps = md_steps()
        seconds = gmnn_cost.md_seconds(
            REFERENCE_COSTS, steps=steps, atoms=atoms, gpu=gpu
        )
        held = md17_structures("cc")[0]
        return seconds, gmnn_cost.md_memory_mb(REFERENCE_COSTS, atoms=atoms, held=held)
    return None


def expected_job_seconds(rulename, wildcards):
    """Expected seconds of one job, None without a cost model (read by `gmnn cost`)."""
    estimate = job_estimate(rulename, wildcards)
    return None if estimate is None else estimate[0]


def job_runtime(wildcards, rulename):
    """`runtime` of a training or MD rule: the expected cost x gmnn.workflow.resources.SAFETY, plus
    gmnn.workflow.resources.RUNTIME_FLOOR_MINUTES."""
    return gmnn_cost.runtime_minutes(job_estimate(rulename, wildcards)[0])


def job_mem_mb(wildcards, rulename):
    """`mem_mb` of a training or MD rule (the data held and the largest batch)."""
    return job_estimate(rulename, wildcards)[1]


# --------------------------------------------------------------------------------------------
# Checks the schema cannot express (run at start-up, errors name the key).


def check_config():
    problems = []
    sizes = MD17["cc"]["train_sizes"]
    if sizes != sorted(sizes):
        problems.append(f"md17.cc.train_sizes must be increasing, got {sizes}")
    for level in LEVELS:
        if MD17[level]["source"] == "embedded":
            molecule = config.get("embedded_data", {}).get("molecule")
            others = [m for m in MOLECULES if m != molecule]
            if others:
                problems.append(
                    f"md17.{level}.source is 'embedded', which holds only "
                    f"embedded_data.molecule={molecule!r}, but md17.molecules also has {others}"
                )
            n_structures = (
                config.get("embedded_data", {}).get(level, {}).get("n_structures")
            )
            n_train = (
                max(sizes)
                if level == "cc"
                else max(max(dft_train_sizes(m)) for m in MOLECULES)
            )
            needed = n_train + MD17[level]["n_valid"] + (MD17[level].get("n_test") or 0)
            what = f"training set of {n_train}"
            if level == "dft" and n_train > MD17["dft"]["n_train"]:
                what = f"pretrain_size.sizes up to {n_train}"
            if n_structures is not None and needed > n_structures:
                problems.append(
                    f"md17.{level} needs {needed} structures ({what}, "
                    f"n_valid and n_test) but embedded_data.{level}.n_structures is {n_structures}"
                )
            elif needed == n_structures and MD17[level].get("n_test") is None:
                problems.append(
                    f"md17.{level}: {what} and n_valid={MD17[level]['n_valid']} take all "
                    f"embedded_data.{level}.n_structures={n_structures}, leaving no test "
                    f"structures (md17.{level}.n_test is null: the rest)"
                )
    problems += check_embedded_molecule()
    problems += check_ani_config()
    problems += check_ala10_config()
    problems += check_figure_config()
    if problems:
        raise WorkflowError("Invalid configuration:\n  " + "\n  ".join(problems))


def check_embedded_molecule():
    """embedded_data.molecule must be one gmnn.refdata.qc.build_molecule knows (else the
    embedded rules plan their QC jobs and the first of them fails)."""
    molecule = config.get("embedded_data", {}).get("molecule")
    if molecule is None:
        return []
    from gmnn.refdata.qc import build_molecule

    try:
        build_molecule(molecule)
    except ValueError as err:
        return [f"embedded_data.molecule: {err}"]
    return []


def check_bond_scan(bond_scan):
    """Each bond_scan.ranges_A entry an increasing range, wide and fine enough for the
    harmonic fit within fit_window_A of the minimum (gmnn.analysis.bonds)."""
    from gmnn.data.structures import MIN_DISTANCE_A

    problems = []
    window, points = bond_scan["fit_window_A"], bond_scan["points"]
    for bond, (lo, hi) in bond_scan["ranges_A"].items():
        key = f"bond_scan.ranges_A.{bond}={[lo, hi]}"
        if lo >= hi:
            problems.append(f"{key}: the first distance must be below the second")
            continue
        if lo < MIN_DISTANCE_A:
            problems.append(
                f"{key}: starts below {MIN_DISTANCE_A} A, where atoms count as coincident "
                "(gmnn.data.structures.MIN_DISTANCE_A)"
            )
        if 2 * window > hi - lo:
            problems.append(
                f"bond_scan.fit_window_A={window}: the fit window (+-{window} A around the "
                f"minimum) is wider than {key}"
            )
            continue
        step = (hi - lo) / (points - 1)
        if step > 2 * window / 3:
            needed = math.ceil(1.5 * (hi - lo) / window) + 1
            problems.append(
                f"bond_scan.points={points}: a step of {step:.4g} A on {key} can leave fewer "
                f"than 3 points within +-fit_window_A={window} A of the minimum for the "
                f"harmonic fit; use at least {needed} points (or a larger fit_window_A)"
            )
    return problems


def check_figure_config():
    """Figs. 3-4 and S1-S5 use the Fig. 2 grid: their molecules, sizes and settings must
    be in it."""
    problems = []
    fig3 = config.get("pretrain_size")
    if fig3:
        missing = [m for m in fig3["molecules"] if m not in MOLECULES]
        if missing:
            problems.append(
                f"pretrain_size.molecules {missing} are not in md17.molecules {MOLECULES}"
            )
        sizes = [n for n in fig3["finetune_sizes"] if n not in TRAIN_SIZES]
        if sizes:
            problems.append(
                f"pretrain_size.finetune_sizes {sizes} are not in md17.cc.train_sizes "
                f"{TRAIN_SIZES} (the from-scratch lines are the Fig. 2 runs)"
            )
        if "scratch_EF" not in SETTINGS:
            problems.append("pretrain_size needs md17.settings to include scratch_EF")
    md = config.get("md")
    if md:
        if md["molecule"] not in MOLECULES:
            problems.append(
                f"md.molecule {md['molecule']!r} is not in md17.molecules {MOLECULES}"
            )
        for key, n in md["sizes"].items():
            if n not in TRAIN_SIZES:
                problems.append(
                    f"md.sizes.{key}={n} is not in md17.cc.train_sizes {TRAIN_SIZES}"
                )
        if md["seed"] not in SEEDS:
            problems.append(f"md.seed={md['seed']} is not in md17.seeds {SEEDS}")
        models = {(m.setting, m.n_train) for m in MD_MODELS}
        for where, refs in [
            ("md.models", MD_MODELS),
            ("bond_scan.models", BOND_MODELS),
        ]:
            for m in refs:
                if m.setting != "pretrain" and m.setting not in SETTINGS:
                    problems.append(
                        f"{where}: {m.setting} is not in md17.settings {SETTINGS}"
                    )
                if m.n_train is not None and m.n_train not in TRAIN_SIZES:
                    problems.append(
                        f"{where}: {m.setting}@{m.n_train}: {m.n_train} is not in "
                        f"md17.cc.train_sizes {TRAIN_SIZES}"
                    )
        for name, fig in SPECTRA_FIGURES.items():
            if fig["temperature_K"] not in md["temperatures_K"]:
                problems.append(
                    f"figures.spectra.{name}.temperature_K={fig['temperature_K']} is not in "
                    f"md.temperatures_K {md['temperatures_K']}"
                )
            for panel in fig["panels"]:
                for s, n in panel:
                    if (s, n) not in models:
                        problems.append(
                            f"figures.spectra.{name}: {s}@{n} is not among md.models"
                        )
        for name, bond in BOND_FIGURES.items():
            if bond not in BOND_SCAN["ranges_A"]:
                problems.append(
                    f"figures.bonds.{name}={bond!r} is not in bond_scan.ranges_A "
                    f"{sorted(BOND_SCAN['ranges_A'])}"
                )
        lag = TYPED["spectra"].max_lag_ps
        if 2 * lag > md["production_ps"]:
            problems.append(
                f"spectra.max_lag_ps={lag}: the spectra need two VACF windows of "
                f"production, but md.production_ps is {md['production_ps']}"
            )
        steps, interval = md_steps(), TYPED["md"].write_interval
        run_length = (
            f"the run (equilibration_ps + production_ps = {steps} steps of "
            f"md.dynamics.timestep_fs={TYPED['md'].timestep_fs})"
        )
        ckpt_interval = TYPED["md"].checkpoint_interval
        if interval > steps:
            problems.append(
                f"md.dynamics.write_interval={interval} is longer than {run_length}: no frames"
            )
        elif ckpt_interval > steps:
            problems.append(
                f"md.dynamics.checkpoint_interval={ckpt_interval} is longer than {run_length}: a "
                "killed run would never have a checkpoint to resume from"
            )
        if steps % interval and interval <= steps:
            problems.append(
                f"md: equilibration_ps + production_ps = {steps} steps of "
                f"md.dynamics.timestep_fs, not a multiple of md.dynamics.write_interval "
                f"{interval}"
            )
        if BOND_SCAN:
            problems += check_bond_scan(BOND_SCAN)
    return problems


check_config()
