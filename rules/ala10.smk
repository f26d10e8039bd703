# Deca-alanine MD (Sec. 3.2, Figs. 7 and 8): ensembles of the ANI models (pre-trained on
# ANI-1x, from scratch and fine-tuned on ANI-1ccx, or their embedded stand-ins; one member
# per seed; the figures name the data as gmnn.analysis.names does) drive
# the 104-atom Ala10 helix in the gas phase (Langevin NVT) and in a periodic water box
# (Langevin, then Nose-Hoover NVT, then NPT). Each phase is a staged protocol
# (gmnn.md.protocol): one job per stage, each resumable from its checkpoint and started
# from the last state of the stage before; a stage after a diverged one is recorded as
# skipped.
#
#   data/embedded/ala10_helix.extxyz                    built + GFN2-xTB (committed)
#   data/ala10/helix.extxyz                             the initial helix (PDB names)
#   data/ala10/water_box.extxyz                         the helix in water (packmol)
#   trajectories/ani/ala10/<phase>/<model>/stage<k>/md.traj        (ASE, large)
#   results/ani/ala10/<phase>/<model>/stage<k>/summary.json        (one stage)
#   results/ani/ala10/<phase>/<model>/{rmsd,stages,structures}.csv (one run)
#   results/ani/{ala10_rmsd,md_runs,ala10_structures}.csv          (tidy)
#   figures/fig7.{pdf,png} (gas), figures/fig8.{pdf,png} (water)
#
# As for the MD17 runs, the trajectory grows in md.partial.traj with md.ckpt.npz beside it
# (undeclared, kept when a job is killed). Depends on rules/common.smk (ALA10* paths and
# helpers, the ANI model paths) and rules/data.smk (SOURCES).


rule embedded_ala10:
    """The embedded default's helix: an ideal alpha-helix (phi -57, psi -47; PeptideBuilder,
    RDKit hydrogens) relaxed with GFN2-xTB (tblite). Committed: the main job does not
    regenerate it (`snakemake --forcerun embedded_ala10 --until embedded_ala10` does).
    """
    output:
        EMBEDDED_ALA10,
    log:
        "logs/embedded_ala10.log",
    benchmark:
        "benchmarks/rules/embedded_ala10.tsv"
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../workflow_scripts/embedded_ala10.py"


rule ala10_helix:
    """The initial helix: the downloaded PDB (ala10.source download) or the committed
    embedded one, with its PDB atom names and residues (the RMSD's reference)."""
    input:
        source=lambda wc: (
            EMBEDDED_ALA10 if ALA10["source"] == "embedded" else SOURCES.raw("ala10")
        ),
    output:
        ALA10_HELIX,
    log:
        "logs/ala10/helix.log",
    benchmark:
        "benchmarks/rules/ala10/helix.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        kind=lambda wc: "embedded" if ALA10["source"] == "embedded" else "pdb",
    script:
        "../workflow_scripts/ala10_helix.py"


rule ala10_solvate:
    """The helix in an orthorhombic water box at 1 g/cm^3 (packmol), checked for the
    minimum O-O distance over periodic images."""
    input:
        ALA10_HELIX,
    output:
        ALA10_WATER_BOX,
    log:
        "logs/ala10/solvate.log",
    benchmark:
        "benchmarks/rules/ala10/solvate.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        solvation=lambda wc: ALA10["water"]["solvation"],
    script:
        "../workflow_scripts/ala10_solvate.py"


rule ala10_md:
    """One stage of one deca-alanine run: the mean of the ensemble's members (evaluated
    together, one neighbour list), checkpointed and resumable; skipped (recorded) when
    the stage before diverged. Stage 0 first records the gate: each member's force RMSE
    against the reference forces of the initial helix (in vacuum) and the ensemble's
    force spread there."""
    input:
        unpack(ala10_stage_inputs),
        gate=lambda wc: ALA10_HELIX if int(wc.stage) == 0 else [],
    output:
        trajectory=ALA10_TRAJECTORY,
        summary=ALA10_SUMMARY,
    log:
        f"logs/{ALA10_STAGE}.log",
    benchmark:
        f"benchmarks/rules/{ALA10_STAGE}.tsv"
    wildcard_constraints:
        phase="gas|water",
        model="pretrained|scratch|finetuned",
        stage=r"\d+",
    priority: 5  # long single jobs: start them before the short ones
    conda:
        "../envs/gmnn.yaml"
    threads: 2
    resources:
        # from the cost model (rules/common.smk); --set-resources overrides them
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        # the stages up to this one (a later stage's settings do not rerun it)
        stages=lambda wc: ALA10[wc.phase]["stages"][: int(wc.stage) + 1],
        base=lambda wc: ala10_base(),
        where=lambda wc: f"ala10.{wc.phase}.stages",
        members=lambda wc: ala10_members(wc.model),
        record=lambda wc: {"phase": wc.phase, "model": wc.model},
    script:
        "../workflow_scripts/ala10_md.py"


rule ala10_analysis:
    """RMSD to the initial helix (heavy atoms, backbone, all atoms; Kabsch, the peptide
    made whole across periodic faces), helical fraction, ensemble spread and density of
    one run's frames; one row per stage with its stability."""
    input:
        reference=ALA10_HELIX,
        trajectories=lambda wc: ala10_stage_paths(ALA10_TRAJECTORY, wc.phase, wc.model),
        summaries=lambda wc: ala10_stage_paths(ALA10_SUMMARY, wc.phase, wc.model),
    output:
        series=ALA10_RUN_SERIES,
        stages=ALA10_RUN_STAGES,
        structures=ALA10_STRUCTURES_RUN,
    log:
        "logs/ala10_analysis/{phase}/{model}.log",
    benchmark:
        "benchmarks/rules/ala10_analysis/{phase}/{model}.tsv"
    wildcard_constraints:
        phase="gas|water",
        model="pretrained|scratch|finetuned",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        equilibration_ps=lambda wc: ALA10[wc.phase]["equilibration_ps"],
        window_ps=lambda wc: ALA10[wc.phase]["window_ps"],
    script:
        "../workflow_scripts/ala10_analysis.py"


rule collect_ala10:
    """The tidy deca-alanine tables: the RMSD series and the runs (one row per stage)."""
    input:
        series=checked(
            [
                ALA10_RUN_SERIES.format(phase=p, model=m)
                for p in ALA10_PHASES
                for m in ALA10_MODELS
            ]
        ),
        stages=checked(
            [
                ALA10_RUN_STAGES.format(phase=p, model=m)
                for p in ALA10_PHASES
                for m in ALA10_MODELS
            ]
        ),
        structures=checked(
            [
                ALA10_STRUCTURES_RUN.format(phase=p, model=m)
                for p in ALA10_PHASES
                for m in ALA10_MODELS
            ]
        ),
    output:
        series=TABLES_ALA10["series"],
        runs=TABLES_ALA10["runs"],
        structures=ALA10_STRUCTURES,
    log:
        "logs/collect_ala10.log",
    benchmark:
        "benchmarks/rules/collect_ala10.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/collect_ala10.py"


rule fig_ala10:
    """Fig. 7 (gas phase) or Fig. 8 (in water): RMSD to the initial helix against time,
    one panel per ensemble, the running average in red, failed runs marked, the initial
    and a late backbone as an inset. Drawn from the phase's per-run tables (the same
    rows as the tidy tables of rule collect_ala10)."""
    input:
        unpack(ala10_phase_tables),
    output:
        pdf="figures/{fig}.pdf",
        png=report(
            "figures/{fig}.png",
            caption="../report/fig_ala10.rst",
            category=ANI_STUDY,
            subcategory="Figs. 7, 8: deca-alanine MD",
            labels=lambda wc: {
                "result": f"{'Fig. 7' if wc.fig == 'fig7' else 'Fig. 8'}: Ala10 RMSD "
                f"({'gas phase' if wc.fig == 'fig7' else 'in water'})",
                **ala10_labels(),
            },
        ),
    log:
        "logs/figures/{fig}.log",
    benchmark:
        "benchmarks/rules/figures/{fig}.tsv"
    wildcard_constraints:
        fig="|".join(ALA10_FIGURES[p] for p in ALA10_PHASES) or "none",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        phase=lambda wc: {v: k for k, v in ALA10_FIGURES.items()}[wc.fig],
        models=ALA10_MODELS,
        titles=lambda wc: ALA10_DESIGN.titles,
    script:
        "../workflow_scripts/plot_ala10.py"


# (the figures join ALL_TARGETS with the others, in rules/figures.smk)
ALA10_TARGETS = [f"figures/{ALA10_FIGURES[p]}.pdf" for p in ALA10_PHASES]
ALA10_TABLES = [*TABLES_ALA10.values(), ALA10_STRUCTURES] if ALA10_PHASES else []


rule ala10:
    """Figs. 7 and 8 with their tables."""
    input:
        ALA10_TARGETS,
        ALA10_TABLES,


ALL_TARGETS += ALA10_TABLES
