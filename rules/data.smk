# Data: download -> stage (data/raw/, read-only, checksummed) -> convert (one HDF5 schema,
# eV/Angstrom) -> seeded splits. Path templates come from rules/common.smk; which files a
# data set needs, from where, and how they are staged come from gmnn.data.sources (the
# registry of URLs and checksums, with the user's `sources:` overrides applied).
#
#   data/raw/<source>/download/<file>          downloaded (or verified local) file
#   data/raw/<source>/download/<file>.provenance.json   url, sha256, md5, size, time
#   data/raw/<source>/<item>/                  files ready to convert, PROVENANCE.json
#   data/md17/<molecule>/{dft,cc}.h5           converted
#   data/ani/{ani1x,ani1ccx,comp6_<subset>}.h5 converted
#   data/splits/md17/<molecule>/{dft,cc}_seed<S>.json

from gmnn.data.download import DownloadConfig
from gmnn.data.sources import SOURCE_NAMES, Sources

# The `sources:` overrides and the `download:` settings, checked at start-up (errors name
# the key); every molecule taken from rMD17 or sGDML must be in the registry. The input
# functions of the rules below are one call each of SOURCES (gmnn.data.sources.Sources).
try:
    SOURCES = Sources.from_config(
        config.get("sources"),
        molecules=MOLECULES,
        download_path=RAW_DOWNLOAD,
        staged_path=RAW_STAGED,
    )
    DOWNLOAD = DownloadConfig.from_dict(config.get("download"))
    SOURCES.require(MD17["dft"]["source"], MOLECULES)
    SOURCES.require(MD17["cc"]["source"], MOLECULES)
except ValueError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None


wildcard_constraints:
    molecule=alternatives(MOLECULES),
    level=alternatives(LEVELS),
    seed=r"\d+",


rule download:
    """Download one remote file (or take its verified `local:` copy), checksummed."""
    input:
        # a `local:` copy of the remote file that replaces the download, if any
        lambda wc: SOURCES.fetch_plan(wc.source, wc.filename).inputs(),
    output:
        data=RAW_DOWNLOAD,
        provenance=f"{RAW_DOWNLOAD}.provenance.json",
    log:
        "logs/download/{source}/{filename}.log",
    benchmark:
        "benchmarks/rules/download/{source}/{filename}.tsv"
    wildcard_constraints:
        source=alternatives(SOURCE_NAMES),
        filename=alternatives(SOURCES.remote_filenames()),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        plan=lambda wc: SOURCES.fetch_plan(wc.source, wc.filename).to_dict(),
        download=DOWNLOAD.to_dict(),
    script:
        "../workflow_scripts/download.py"


rule stage:
    """Extract or link the raw files of one data set into data/raw/<source>/<item>/."""
    input:
        # the downloaded files, or the `local:` tree (by name: a missing one is reported)
        unpack(lambda wc: SOURCES.stage_plan(wc.source, wc.item).inputs()),
    output:
        directory(RAW_STAGED),
    log:
        "logs/stage/{source}/{item}.log",
    benchmark:
        "benchmarks/rules/stage/{source}/{item}.tsv"
    wildcard_constraints:
        source=alternatives(SOURCE_NAMES),
        item=alternatives(SOURCES.stage_items()),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        plan=lambda wc: SOURCES.stage_plan(wc.source, wc.item).to_dict(),
        download=DOWNLOAD.to_dict(),
    script:
        "../workflow_scripts/download.py"


rule convert_md17:
    """Convert the DFT (rMD17) or coupled-cluster (sGDML) data of one molecule."""
    input:
        # the staged raw files of the molecule, or the embedded data set
        raw=lambda wc: (
            DATA_EMBEDDED.format(molecule=wc.molecule, level=wc.level)
            if MD17[wc.level]["source"] == "embedded"
            else SOURCES.raw(MD17[wc.level]["source"], wc.molecule)
        ),
    output:
        DATA_MD17,
    log:
        "logs/convert_md17/{molecule}_{level}.log",
    benchmark:
        "benchmarks/rules/convert_md17/{molecule}_{level}.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        source=lambda wc: MD17[wc.level]["source"],
    script:
        "../workflow_scripts/convert_md17.py"


rule convert_ani:
    """Convert ANI-1x (wB97x/6-31G(d) energies and forces) or ANI-1ccx (CCSD(T)*/CBS energies)."""
    input:
        raw=lambda wc: SOURCES.raw(wc.name),
    output:
        DATA_ANI,
    log:
        "logs/convert_ani/{name}.log",
    benchmark:
        "benchmarks/rules/convert_ani/{name}.tsv"
    wildcard_constraints:
        name="ani1x|ani1ccx",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        # streamed: memory bounded by a chunk of conformers (gmnn.data.ani)
        mem_mb=4000,
        runtime=120,
    params:
        level=lambda wc: {"ani1x": "dft", "ani1ccx": "cc"}[wc.name],
    script:
        "../workflow_scripts/convert_ani.py"


rule convert_comp6:
    """Convert one COMP6 v1 subset (forces: see gmnn.data.sources.load_comp6)."""
    input:
        raw=lambda wc: SOURCES.raw("comp6", wc.subset),
    output:
        comp6_data("{subset}"),
    log:
        "logs/convert_comp6/{subset}.log",
    benchmark:
        "benchmarks/rules/convert_comp6/{subset}.tsv"
    wildcard_constraints:
        subset=alternatives(SOURCES.items("comp6")),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow_scripts/convert_comp6.py"


rule split_md17:
    """Seeded split with nested training sets: cc, every size in md17.cc.train_sizes; dft,
    md17.dft.n_train and Fig. 3's sizes, the test set outside the first n_train only."""
    input:
        data=DATA_MD17,
    output:
        SPLIT_MD17,
    log:
        "logs/split_md17/{molecule}_{level}_seed{seed}.log",
    benchmark:
        "benchmarks/rules/split_md17/{molecule}_{level}_seed{seed}.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        train_sizes=lambda wc: (
            TRAIN_SIZES if wc.level == "cc" else dft_train_sizes(wc.molecule)
        ),
        n_train=lambda wc: MD17["dft"]["n_train"] if wc.level == "dft" else None,
        n_valid=lambda wc: MD17[wc.level]["n_valid"],
        n_test=lambda wc: MD17[wc.level].get("n_test"),
    script:
        "../workflow_scripts/make_split.py"


MD17_DATA_TARGETS = [
    *expand(md17_data("{m}", "{l}"), m=MOLECULES, l=LEVELS),
    *expand(md17_split("{m}", "{l}", "{s}"), m=MOLECULES, l=LEVELS, s=SEEDS),
]
ANI_DATA_TARGETS = [
    ani_data("ani1x"),
    ani_data("ani1ccx"),
    *[comp6_data(s) for s in COMP6_SUBSETS],
]


rule data_md17:
    """All MD17 data and splits of the configured molecules and seeds."""
    input:
        MD17_DATA_TARGETS,


rule data_ani:
    """ANI-1x, ANI-1ccx and the configured COMP6 subsets (large downloads)."""
    input:
        ANI_DATA_TARGETS,


ALL_TARGETS += MD17_DATA_TARGETS
