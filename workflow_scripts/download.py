"""Rules `download` and `stage` (rules/data.smk): thin wrappers of gmnn.data.download.

The plans (what to fetch from where, what to stage how) come from gmnn.data.sources
(FetchPlan.to_dict, StagePlan.to_dict); the settings from the `download:` section.
"""

from gmnn.data.download import DownloadConfig, fetch, stage, write_provenance
from gmnn.data.sources import find_files
from gmnn.workflow import job

log = job(snakemake)
settings = DownloadConfig.from_dict(snakemake.params.download)
plan = snakemake.params.plan

if snakemake.rule == "download":
    local = plan["local"]  # a copy of the remote file itself, verified like a download
    origin = local or plan["url"]
    result = fetch(
        origin,
        snakemake.output.data,
        sha256=plan["sha256"],
        md5=plan["md5"],
        retries=settings.retries,
        timeout=settings.timeout,
        mirrors=() if local else plan["mirrors"],
        symlink=bool(local) and settings.local_mode == "symlink",
    )
    pinned = bool(plan["sha256"] or plan["md5"])
    if not pinned:
        log.warning(
            "no checksum pinned for %s: observed sha256 %s (recorded in %s); "
            "pin it in config.yaml as %s",
            origin,
            result.sha256,
            snakemake.output.provenance,
            plan["pin"],
        )
    write_provenance(result, snakemake.output.provenance, url=plan["url"], pinned=pinned)
    log.info(
        "fetched %s -> %s (%d bytes, sha256 %s)", origin, result.dest, result.size, result.sha256
    )
else:
    local = plan["local"]  # a tree searched for the files needed
    files = find_files(plan["finder"], local, plan["items"]) if local else []
    record = stage(
        snakemake.output[0],
        archives=snakemake.input.get("archives", []),
        members=plan["members"],
        files=files,
        mode=settings.local_mode if local else "symlink",
        info={"plan": plan},
    )
    log.info("staged %d file(s) in %s", len(record["files"]), snakemake.output[0])
