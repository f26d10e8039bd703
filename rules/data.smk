# Data: download -> stage (data/raw/, read-only, checksummed) -> convert (one HDF5 schema,
# eV/Angstrom) -> seeded splits. Paths come from rules/common.smk.
#
#   data/raw/<source>/download/<file>          downloaded (or verified local) file
#   data/raw/<source>/download/<file>.provenance.json   url, sha256, md5, size, time
#   data/raw/<source>/<item>/                  files ready to convert, PROVENANCE.json
#   data/md17/<molecule>/{dft,cc}.h5           converted
#   data/ani/{ani1x,ani1ccx,comp6_<subset>}.h5 converted
#   data/splits/md17/<molecule>/{dft,cc}_seed<S>.json


wildcard_constraints:
    molecule=alternatives(MOLECULES),
    level=alternatives(LEVELS),
    seed=r"\d+",


rule download:
    """Download one remote file (or take its verified `local:` copy), checksummed."""
    input:
        download_local,
    output:
        data="data/raw/{source}/download/{filename}",
        provenance="data/raw/{source}/download/{filename}.provenance.json",
    log:
        "logs/download/{source}/{filename}.log",
    benchmark:
        "benchmarks/rules/download/{source}/{filename}.tsv"
    wildcard_constraints:
        source="rmd17|md17_ccsd|ani1x|ani1ccx|comp6",
        filename=alternatives(remote_filenames()),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        entry=download_entry,
        use_local=lambda wc: bool(download_local(wc)),
        retries=config["download"]["retries"],
        timeout=config["download"]["timeout"],
        local_mode=config["download"]["local_mode"],
    script:
        "../workflow_scripts/download.py"


rule stage:
    """Extract or link the raw files of one data set into data/raw/<source>/<item>/."""
    input:
        unpack(stage_inputs),
    output:
        directory("data/raw/{source}/{item}"),
    log:
        "logs/stage/{source}/{item}.log",
    benchmark:
        "benchmarks/rules/stage/{source}/{item}.tsv"
    wildcard_constraints:
        source="rmd17|md17_ccsd|ani1x|ani1ccx|comp6",
        item=alternatives(
            [
                "files",
                *config["sources"]["md17_ccsd"],
                *config["sources"]["comp6"]["subsets"],
            ]
        ),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        plan=stage_plan,
        local_mode=config["download"]["local_mode"],
    script:
        "../workflow_scripts/download.py"


rule convert_md17:
    """Convert the DFT (rMD17) or coupled-cluster (sGDML) data of one molecule."""
    input:
        raw=md17_raw,
    output:
        "data/md17/{molecule}/{level}.h5",
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
        raw=lambda wc: raw_staged(ani_source(wc.name), "files"),
    output:
        "data/ani/{name}.h5",
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
        mem_mb=32000,
        runtime=120,
    params:
        level=lambda wc: {"ani1x": "dft", "ani1ccx": "cc"}[wc.name],
    script:
        "../workflow_scripts/convert_ani.py"


rule convert_comp6:
    """Convert one COMP6 v1 subset (forces: see gmnn.data.sources.load_comp6)."""
    input:
        raw=raw_staged("comp6", "{subset}"),
    output:
        "data/ani/comp6_{subset}.h5",
    log:
        "logs/convert_comp6/{subset}.log",
    benchmark:
        "benchmarks/rules/convert_comp6/{subset}.tsv"
    wildcard_constraints:
        subset=alternatives(config["sources"]["comp6"]["subsets"]),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow_scripts/convert_comp6.py"


rule split_md17:
    """Seeded split; cc: nested training sets for every size in md17.cc.train_sizes."""
    input:
        data="data/md17/{molecule}/{level}.h5",
    output:
        "data/splits/md17/{molecule}/{level}_seed{seed}.json",
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
