# Small helpers shared by the workflow: config look-ups, path builders, the inputs of the
# data steps and the checks that JSON schema cannot express. No science here (see gmnn).

import os
import posixpath
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz")
LEVELS = ("dft", "cc")

MD17 = config["md17"]
MOLECULES = MD17["molecules"]
SEEDS = MD17["seeds"]
SETTINGS = MD17["settings"]
TRAIN_SIZES = sorted(MD17["cc"]["train_sizes"])
COMP6_SUBSETS = config.get("ani", {}).get("comp6_subsets", [])
ALL_TARGETS = []  # rule files append the targets of `snakemake` without arguments


# --------------------------------------------------------------------------------------------
# Paths (use these in experiment and figure rules rather than spelling paths out).


def md17_data(molecule, level):
    """Converted MD17 data of `molecule` at `level` ("dft" pre-training, "cc" coupled cluster)."""
    return f"data/md17/{molecule}/{level}.h5"


def dft_train_sizes(molecule):
    """Pre-training set sizes of `molecule`: md17.dft.n_train, and Fig. 3's grid for its
    molecules (nested in one split: train[:N])."""
    sizes = {MD17["dft"]["n_train"]}
    fig3 = config.get("pretrain_size")
    if fig3 and molecule in fig3["molecules"]:
        sizes.update(fig3["sizes"])
    return sorted(sizes)


def md17_split(molecule, level, seed):
    """Split JSON of `md17_data(molecule, level)`; cc: `train[:n]` for every n in train_sizes."""
    return f"data/splits/md17/{molecule}/{level}_seed{seed}.json"


def ani_data(name):
    """Converted ANI data: name in ani1x, ani1ccx, comp6_<subset>."""
    return f"data/ani/{name}.h5"


def comp6_data(subset):
    return ani_data(f"comp6_{subset}")


def embedded_data_file(molecule, level):
    """The committed embedded data set (written by rules/embedded.smk)."""
    return f"data/embedded/{molecule}_{level}.h5"


def raw_download(source, filename):
    return f"data/raw/{source}/download/{filename}"


def raw_staged(source, item):
    """Directory with the raw files of one data set, ready for conversion."""
    return f"data/raw/{source}/{item}"


# --------------------------------------------------------------------------------------------
# Sources


def source_entry(source, item=None):
    """The config entry of a raw file: `item` is the molecule (md17_ccsd) or a path (comp6)."""
    sources = config["sources"]
    if source == "md17_ccsd":
        if item not in sources["md17_ccsd"]:
            raise WorkflowError(
                f"config: sources.md17_ccsd has no entry for molecule {item!r}"
            )
        return sources["md17_ccsd"][item]
    if source == "comp6":
        comp6 = sources["comp6"]
        for files in comp6["subsets"].values():
            for f in files:
                if f["path"] == item:
                    return {
                        "url": posixpath.join(comp6["base_url"], f["path"]),
                        "mirrors": [],
                        "filename": f["path"],
                        "sha256": f["sha256"],
                        "md5": None,
                        "local": comp6.get("local"),
                    }
        raise WorkflowError(
            f"config: no COMP6 file {item!r} under sources.comp6.subsets"
        )
    entry = sources[source]
    if "same_as" in entry and not entry.get("url"):
        own_local = entry.get("local")
        entry = dict(sources[entry["same_as"]])
        if own_local:
            entry["local"] = own_local
    return entry


def ani_source(name):
    """The source whose files hold ANI data set `name` (ani1ccx shares ani1x's file)."""
    entry = config["sources"][name]
    if "same_as" in entry and not entry.get("url") and not entry.get("local"):
        return entry["same_as"]
    return name


def local_replaces_download(entry):
    """`local` is a copy of the remote file itself (verified against its checksum)."""
    local = entry.get("local")
    if not local or not os.path.isfile(local):
        return False
    if entry["filename"].endswith(ARCHIVE_SUFFIXES):
        return local.endswith(ARCHIVE_SUFFIXES)
    return True


def local_tree(entry):
    """`local` is a directory (or another kind of file) searched for the files needed."""
    return bool(entry.get("local")) and not local_replaces_download(entry)


def download_inputs(source, item):
    """Input of a staging rule: the downloaded file(s), or nothing for a local tree."""
    entry = source_entry(source, item)
    if local_tree(entry):
        return {}
    return {"archive": raw_download(source, entry["filename"])}


def local_inputs(entry):
    """A local path as input, so that a missing one is reported by name."""
    return [entry["local"]] if entry.get("local") else []


def remote_filenames():
    sources = config["sources"]
    names = [sources["rmd17"]["filename"], sources["ani1x"]["filename"]]
    names += [e["filename"] for e in sources["md17_ccsd"].values()]
    names += [f["path"] for fs in sources["comp6"]["subsets"].values() for f in fs]
    if "filename" in sources["ani1ccx"]:
        names.append(sources["ani1ccx"]["filename"])
    return names


def alternatives(values):
    return "|".join(re.escape(str(v)) for v in values)


# --------------------------------------------------------------------------------------------
# Inputs and parameters of the data rules (rules/data.smk)

# The finder (gmnn.data.sources.find_files) that locates each source's files.
FINDER = {
    "rmd17": "rmd17",
    "md17_ccsd": "sgdml",
    "comp6": "comp6",
    "ani1x": "file",
    "ani1ccx": "file",
}


def stage_entries(source, item):
    """Config entries of the raw files staged in raw_staged(source, item)."""
    if source == "comp6":
        subsets = config["sources"]["comp6"]["subsets"]
        if item not in subsets:
            raise WorkflowError(f"config: sources.comp6.subsets has no subset {item!r}")
        return [source_entry("comp6", f["path"]) for f in subsets[item]]
    return [source_entry(source, item if source == "md17_ccsd" else None)]


def stage_inputs(wildcards):
    """The downloaded files, or the local tree (named, so a missing one is reported)."""
    entries = stage_entries(wildcards.source, wildcards.item)
    if local_tree(entries[0]):
        return {"local": local_inputs(entries[0])}
    return {
        "archives": [raw_download(wildcards.source, e["filename"]) for e in entries]
    }


def stage_plan(wildcards):
    source, item = wildcards.source, wildcards.item
    entries = stage_entries(source, item)
    return {
        "source": source,
        "item": item,
        "finder": FINDER[source],
        "items": MOLECULES if source == "rmd17" else [item],
        "local": entries[0]["local"] if local_tree(entries[0]) else None,
        "members": (
            [f"rmd17/npz_data/rmd17_{m}.npz" for m in MOLECULES]
            if source == "rmd17"
            else None
        ),
        "urls": [e["url"] for e in entries],
    }


def download_entry(wildcards):
    source, filename = wildcards.source, wildcards.filename
    if source == "md17_ccsd":
        for molecule, entry in config["sources"]["md17_ccsd"].items():
            if entry["filename"] == filename:
                return source_entry(source, molecule)
    if source == "comp6":
        return source_entry(source, filename)
    entry = source_entry(source)
    if entry["filename"] != filename:
        raise WorkflowError(f"config: sources.{source} has no file {filename!r}")
    return entry


def download_local(wildcards):
    entry = download_entry(wildcards)
    return local_inputs(entry) if local_replaces_download(entry) else []


def md17_raw(wildcards):
    level, molecule = wildcards.level, wildcards.molecule
    source = MD17[level]["source"]
    if source == "embedded":
        return embedded_data_file(molecule, level)
    if source == "rmd17":
        return raw_staged("rmd17", "files")
    return raw_staged("md17_ccsd", molecule)


# --------------------------------------------------------------------------------------------
# Figs. 3, 4 and S1-S5 (rules/pretrain_size.smk, rules/md.smk, rules/figures.smk); the path
# constants they use (FIG2_*, FIG3_*) are defined in those rule files.


def fig3_pretrained(molecule, npre, seed):
    """Directory of the model pre-trained on `npre` DFT structures (Fig. 2's at n_train)."""
    if int(npre) == MD17["dft"]["n_train"]:
        return FIG2_PRETRAINED.format(molecule=molecule, seed=seed)
    return FIG3_PRETRAINED.format(molecule=molecule, npre=npre, seed=seed)


def fig3_metrics(molecule, npre, setting, n, seed):
    if int(npre) == MD17["dft"]["n_train"]:
        return FIG2_METRICS.format(molecule=molecule, setting=setting, n=n, seed=seed)
    return FIG3_METRICS.format(
        molecule=molecule, npre=npre, setting=setting, n=n, seed=seed
    )


def md_models():
    """(setting, n) of the five models the spectra compare (Figs. 4, S3-S5)."""
    small, large = MD["sizes"]["small"], MD["sizes"]["large"]
    return [
        ("scratch_EF", large),
        ("finetune_EF", small),
        ("scratch_E", large),
        ("finetune_E", large),
        ("finetune_EF", large),
    ]


def bond_models():
    """(setting, n) of the four potentials of Figs. S1/S2 (pretrain: DFT set size)."""
    small, large = MD["sizes"]["small"], MD["sizes"]["large"]
    return [
        ("pretrain", MD17["dft"]["n_train"]),
        ("scratch_EF", large),
        ("finetune_EF", small),
        ("finetune_E", large),
    ]


def md_paths(pattern):
    return [
        pattern.format(molecule=MD["molecule"], setting=s, n=n, seed=MD["seed"], temp=t)
        for s, n in md_models()
        for t in MD["temperatures_K"]
    ]


def md_steps():
    return int(
        round((MD["equilibration_ps"] + MD["production_ps"]) * 1000 / MD["timestep_fs"])
    )


def model_files(molecule, setting, n, seed):
    if setting == "pretrain":
        directory = FIG2_PRETRAINED.format(molecule=molecule, seed=seed)
    else:
        directory = FIG2_MODEL.format(
            molecule=molecule, setting=setting, n=n, seed=seed
        )
    return [f"{directory}/model.json", f"{directory}/weights.npz"]


# Spectra figures: name -> temperature and panels of (setting, size) pairs (Sec. 3.1, SI).
def spectra_figures():
    if not MD:
        return {}
    small, large = MD["sizes"]["small"], MD["sizes"]["large"]
    hot, cold = max(MD["temperatures_K"]), min(MD["temperatures_K"])
    main = [
        [["scratch_EF", large], ["finetune_EF", small]],
        [["scratch_E", large], ["finetune_E", large]],
    ]
    sizes = [[["finetune_EF", small], ["finetune_EF", large]]]
    return {
        "fig4": (hot, main),
        "figS3": (cold, main),
        "figS4": (hot, sizes),
        "figS5": (cold, sizes),
    }


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
            if n_structures is not None and needed > n_structures:
                problems.append(
                    f"md17.{level} needs {needed} structures (training set of {n_train}, "
                    f"n_valid and n_test) but embedded_data.{level}.n_structures is {n_structures}"
                )
    if MD17["cc"]["source"] == "md17_ccsd":
        missing = [m for m in MOLECULES if m not in config["sources"]["md17_ccsd"]]
        if missing:
            problems.append(
                f"sources.md17_ccsd has no entry for md17.molecules {missing}"
            )
    problems += check_figure_config()
    if problems:
        raise WorkflowError("Invalid configuration:\n  " + "\n  ".join(problems))


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
        needed = {"scratch_E", "scratch_EF", "finetune_E", "finetune_EF"} - set(
            SETTINGS
        )
        if needed:
            problems.append(f"md needs md17.settings to include {sorted(needed)}")
    return problems


check_config()
