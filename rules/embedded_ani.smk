# Embedded ANI-like data, generated offline (gmnn.refdata.embedded_ani): GFN2-xTB Langevin MD
# of many CHNO systems (tblite), wB97X/6-31G* energies of evenly spaced frames of the
# small ones (PySCF), and held-out systems at the xTB level in COMP6-like subsets.
#
#   data/embedded_work/ani/sample/<system>.npz     xTB frames, energies, forces   (temp)
#   data/embedded_work/ani/accurate/<system>.npz   wB97X energies of some frames  (temp)
#   data/embedded/ani_xtb.h5, ani_wb97x.h5, comp6_<subset>.h5   final, committed to git
#
# One job per system, so a cluster parallelises it; the final files are committed and
# nothing upstream is kept (temp), so the main job never regenerates them.
# `snakemake --forcerun embedded_ani_sample --until embedded_ani_merge` regenerates them.
# Depends on rules/common.smk (EMBEDDED_ANI*, the systems and their resources).


rule embedded_ani_sample:
    """GFN2-xTB Langevin MD of one system: frames with their energies and forces."""
    output:
        temp(EMBEDDED_ANI_SAMPLE),
    log:
        "logs/embedded_ani/sample/{system}.log",
    benchmark:
        "benchmarks/rules/embedded_ani/sample/{system}.tsv"
    wildcard_constraints:
        system=alternatives(EMBEDDED_ANI_SYSTEMS),
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wc: gmnn_resources.embedded_ani_sample_minutes(
            EMBEDDED_ANI_CONFIG, EMBEDDED_ANI_SYSTEMS[wc.system]
        ),
    params:
        spec=lambda wc: EMBEDDED_ANI_SYSTEMS[wc.system],
        sampling=EMBEDDED_ANI_CONFIG["sampling"],
    script:
        "../workflow_scripts/embedded_ani_sample.py"


rule embedded_ani_label:
    """wB97X/6-31G* energies (no forces) of evenly spaced frames of one small system or
    one of embedded_ani.accurate.extra_systems (an empty file for any other system above
    embedded_ani.accurate.max_atoms)."""
    input:
        EMBEDDED_ANI_SAMPLE,
    output:
        temp(EMBEDDED_ANI_LABEL),
    log:
        "logs/embedded_ani/accurate/{system}.log",
    benchmark:
        "benchmarks/rules/embedded_ani/accurate/{system}.tsv"
    wildcard_constraints:
        system=alternatives(EMBEDDED_ANI_SYSTEMS),
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wc: gmnn_resources.embedded_ani_label_minutes(
            EMBEDDED_ANI_CONFIG, wc.system
        ),
    params:
        config=EMBEDDED_ANI_CONFIG,
    script:
        "../workflow_scripts/embedded_ani_label.py"


rule embedded_ani_merge:
    """The final embedded ANI-like data sets (committed to git)."""
    input:
        samples=expand(EMBEDDED_ANI_SAMPLE, system=list(EMBEDDED_ANI_SYSTEMS)),
        # every train system (systems above accurate.max_atoms get an empty file)
        labels=expand(EMBEDDED_ANI_LABEL, system=EMBEDDED_ANI_TRAIN),
    output:
        train=EMBEDDED_ANI["train"],
        accurate=EMBEDDED_ANI["accurate"],
        heldout=expand(EMBEDDED_COMP6, subset=list(EMBEDDED_ANI_CONFIG["heldout"])),
    log:
        "logs/embedded_ani/merge.log",
    benchmark:
        "benchmarks/rules/embedded_ani/merge.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        config=EMBEDDED_ANI_CONFIG,
        systems=list(EMBEDDED_ANI_SYSTEMS),
        train=EMBEDDED_ANI_TRAIN,
        subsets=list(EMBEDDED_ANI_CONFIG["heldout"]),
    script:
        "../workflow_scripts/embedded_ani_merge.py"
