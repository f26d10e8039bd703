# Your own molecules (config `molecules:`, docs/molecules.md): reference data at two levels
# of theory made by the same scripts and library functions as the embedded methanol
# (rules/embedded.smk; gmnn.refdata.molecules over gmnn.refdata.qc). The design
# (gmnn.workflow.molecules, DESIGN.molecules) is checked at start-up: a bad entry stops the
# run with one line naming molecules.<name>.<key>.
#
#   data/molecules_work/<name>/trajectory.extxyz         all sampled frames      (temp)
#   data/molecules_work/<name>/frames.json               frames of each level    (temp)
#   data/molecules_work/<name>/<mlevel>/chunk<c>.npz     labels of one chunk     (temp)
#   data/molecules/<name>/<mlevel>.h5                    mlevel: pretraining, accurate
#
# A level computed here is sampled, labelled in chunks of `chunk_size` (one job each, so a
# cluster parallelises them; every label's CPU seconds go to the file's meta["label_cost"])
# and merged; a level with `labels_file` is imported in its stated units.
# (`mlevel`, not `level`: rules/data.smk constrains `level` to the MD17 levels.)

MOLECULE_STUDIES = DESIGN.molecules
MOLECULE_WORK = "data/molecules_work/{name}"
MOLECULE_CHUNK = f"{MOLECULE_WORK}/{{mlevel}}/chunk{{chunk}}.npz"
MOLECULE_DATA = "data/molecules/{dataset}.h5"  # dataset: <name>/<mlevel>


rule molecule_sample:
    """GFN2-xTB Langevin MD of one molecule; which frames each computed level labels."""
    output:
        trajectory=temp(f"{MOLECULE_WORK}/trajectory.extxyz"),
        frames=temp(f"{MOLECULE_WORK}/frames.json"),
    log:
        "logs/molecules/{name}/sample.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/sample.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.sampled_names()),
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wc: MOLECULE_STUDIES.sample_minutes(wc.name),
    params:
        spec=lambda wc: MOLECULE_STUDIES.spec_data(wc.name),
    script:
        "../workflow_scripts/molecule_sample.py"


rule molecule_label:
    """PySCF labels of chunk `chunk` of the frames of level `mlevel`."""
    input:
        trajectory=rules.molecule_sample.output.trajectory,
        frames=rules.molecule_sample.output.frames,
    output:
        temp(MOLECULE_CHUNK),
    log:
        "logs/molecules/{name}/label/{mlevel}_{chunk}.log",
    benchmark:
        "benchmarks/rules/molecules/{name}/label/{mlevel}_{chunk}.tsv"
    wildcard_constraints:
        name=alternatives(MOLECULE_STUDIES.sampled_names()),
        mlevel="pretraining|accurate",
        chunk=r"\d+",
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=lambda wc: MOLECULE_STUDIES.label_minutes(wc.name, wc.mlevel),
    params:
        spec=lambda wc: MOLECULE_STUDIES.spec_data(wc.name),
        max_memory_mb=1500,
    script:
        "../workflow_scripts/molecule_label.py"


rule molecule_merge:
    """All chunks of a computed level -> data/molecules/<name>/<mlevel>.h5 (gmnn HDF5)."""
    input:
        frames=lambda wc: f"data/molecules_work/{wc.dataset.split('/')[0]}/frames.json",
        chunks=lambda wc: MOLECULE_STUDIES.chunk_files(wc.dataset, MOLECULE_CHUNK),
    output:
        MOLECULE_DATA,
    log:
        "logs/molecules/{dataset}/merge.log",
    benchmark:
        "benchmarks/rules/molecules/{dataset}/merge.tsv"
    wildcard_constraints:
        dataset=alternatives(MOLECULE_STUDIES.datasets(computed=True)),
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        level=lambda wc: wc.dataset.split("/")[1],
    script:
        "../workflow_scripts/molecule_merge.py"


rule molecule_import:
    """Labels computed elsewhere (labels_file, its units stated) -> the level's HDF5 file."""
    input:
        lambda wc: MOLECULE_STUDIES.labels_file(wc.dataset),
    output:
        MOLECULE_DATA,
    log:
        "logs/molecules/{dataset}/import.log",
    benchmark:
        "benchmarks/rules/molecules/{dataset}/import.tsv"
    wildcard_constraints:
        dataset=alternatives(MOLECULE_STUDIES.datasets(computed=False)),
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        spec=lambda wc: MOLECULE_STUDIES.spec_data(wc.dataset),
        level=lambda wc: wc.dataset.split("/")[1],
    script:
        "../workflow_scripts/molecule_import.py"


ALL_TARGETS += MOLECULE_STUDIES.data_targets()
