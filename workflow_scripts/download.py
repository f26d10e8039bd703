"""Rules `download` and `stage` (rules/data.smk): thin wrappers of gmnn.data.download."""

import logging

from gmnn.data.download import fetch, stage, write_provenance
from gmnn.data.sources import find_files

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
log = logging.getLogger("gmnn.workflow")

if snakemake.rule == "download":
    entry, p = snakemake.params.entry, snakemake.params
    origin = entry["local"] if p.use_local else entry["url"]
    result = fetch(
        origin,
        snakemake.output.data,
        sha256=entry.get("sha256"),
        md5=entry.get("md5"),
        retries=p.retries,
        timeout=p.timeout,
        mirrors=() if p.use_local else entry.get("mirrors", []),
        symlink=p.use_local and p.local_mode == "symlink",
    )
    pinned = bool(entry.get("sha256") or entry.get("md5"))
    if not pinned:
        log.warning(
            "no checksum pinned for %s: observed sha256 %s (recorded in %s); "
            "pin it in config.yaml under sources",
            origin,
            result.sha256,
            snakemake.output.provenance,
        )
    write_provenance(result, snakemake.output.provenance, url=entry["url"], pinned=pinned)
    log.info(
        "fetched %s -> %s (%d bytes, sha256 %s)", origin, result.dest, result.size, result.sha256
    )
else:
    plan = snakemake.params.plan
    files = find_files(plan["finder"], plan["local"], plan["items"]) if plan["local"] else []
    record = stage(
        snakemake.output[0],
        archives=snakemake.input.get("archives", []),
        members=plan["members"],
        files=files,
        mode=snakemake.params.local_mode if plan["local"] else "symlink",
        info={"plan": plan},
    )
    log.info("staged %d file(s) in %s", len(record["files"]), snakemake.output[0])
