# Embedded default data, generated offline: GFN2-xTB Langevin MD of one molecule (tblite),
# disjoint frames labelled with DFT (pre-training) and CCSD(T) (fine-tuning) in the same
# basis (PySCF). One instance of the own-molecule data path (rules/molecules.smk): the
# embedded_data section maps onto a gmnn.refdata.molecules.MoleculeSpec
# (DESIGN.molecules.embedded), and the same scripts and library functions make its data.
#
#   data/embedded_work/<molecule>/trajectory.extxyz      all sampled frames   (temp)
#   data/embedded_work/<molecule>/frames.json            frames of each level (temp)
#   data/embedded_work/<molecule>/<level>/chunk<c>.npz   labels of one chunk  (temp)
#   data/embedded/<molecule>_<level>.h5                  final data, committed to git
#
# Everything upstream of the final files is temp(), so that once they exist (e.g. from
# git) nothing is regenerated. `snakemake --forcerun embedded_sample` regenerates them and
# reruns everything downstream; add `--until embedded_merge` to stop at the data files.
# Labelling runs one job per chunk of `chunk_size` structures, so a cluster parallelises it.
#
# Depends on rules/common.smk (DATA_EMBEDDED, LEVELS) and on the `level` wildcard
# constraint of rules/data.smk.

import math

EMBEDDED = config["embedded_data"]
EMBEDDED_SPEC = DESIGN.molecules.embedded
EMBEDDED_WORK = f"data/embedded_work/{EMBEDDED['molecule']}"
EMBEDDED_CHUNK = (
    f"data/embedded_work/{EMBEDDED['molecule']}/{{level}}/chunk{{chunk}}.npz"
)
EMBEDDED_N_FRAMES = EMBEDDED_SPEC.n_frames
EMBEDDED_MD_STEPS = (
    EMBEDDED["sampling"]["n_equil"] + EMBEDDED["sampling"]["stride"] * EMBEDDED_N_FRAMES
)
EMBEDDED_N_CHUNKS = {
    level: DESIGN.molecules.n_chunks(EMBEDDED_SPEC.name, level) for level in LEVELS
}
# Walltime estimates for `runtime`, about four times the single-core costs measured for
# ethanol/6-31G (GFN2-xTB MD step 0.01 s; PBE gradient 5 s; frozen-core CCSD(T) gradient
# 15 s); methanol/6-31G costs 2 s (PBE) and 2.2 s (CCSD(T)).
EMBEDDED_SECONDS_PER_MD_STEP = 0.04
EMBEDDED_MINUTES_PER_STRUCTURE = {"dft": 0.35, "cc": 1.0}
EMBEDDED_LABEL_MEM_MB = 2000


rule embedded_sample:
    """GFN2-xTB Langevin MD of embedded_data.molecule; which frames go to DFT and to CC."""
    output:
        trajectory=temp(f"{EMBEDDED_WORK}/trajectory.extxyz"),
        frames=temp(f"{EMBEDDED_WORK}/frames.json"),
    log:
        "logs/embedded/sample.log",
    benchmark:
        "benchmarks/rules/embedded/sample.tsv"
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5 + math.ceil(EMBEDDED_SECONDS_PER_MD_STEP * EMBEDDED_MD_STEPS / 60),
    params:
        spec=EMBEDDED_SPEC.to_dict(),
    script:
        "../workflow_scripts/molecule_sample.py"


rule embedded_label:
    """PySCF energies and forces of chunk `chunk` of the frames of level `level`."""
    input:
        trajectory=rules.embedded_sample.output.trajectory,
        frames=rules.embedded_sample.output.frames,
    output:
        temp(EMBEDDED_CHUNK),
    log:
        "logs/embedded/label/{level}_{chunk}.log",
    benchmark:
        "benchmarks/rules/embedded/label/{level}_{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=EMBEDDED_LABEL_MEM_MB,
        runtime=lambda wc: 5
        + math.ceil(EMBEDDED_MINUTES_PER_STRUCTURE[wc.level] * EMBEDDED["chunk_size"]),
    params:
        spec=EMBEDDED_SPEC.to_dict(),
        max_memory_mb=int(0.75 * EMBEDDED_LABEL_MEM_MB),
    script:
        "../workflow_scripts/molecule_label.py"


rule embedded_merge:
    """All chunks of level `level` -> data/embedded/<molecule>_<level>.h5 (gmnn HDF5)."""
    input:
        frames=rules.embedded_sample.output.frames,
        chunks=lambda wc: expand(
            EMBEDDED_CHUNK, level=wc.level, chunk=range(EMBEDDED_N_CHUNKS[wc.level])
        ),
    output:
        DATA_EMBEDDED.format(molecule=EMBEDDED["molecule"], level="{level}"),
    log:
        "logs/embedded/merge/{level}.log",
    benchmark:
        "benchmarks/rules/embedded/merge/{level}.tsv"
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow_scripts/molecule_merge.py"
