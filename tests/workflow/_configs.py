"""Pipeline configs as Snakemake reads them: config.yaml, then each configfile (or YAML
text) over it, validated by the schema (defaults filled)."""

from __future__ import annotations

from pathlib import Path

import yaml
from snakemake.utils import update_config

from gmnn.workflow.schema import validate_config

REPO = Path(__file__).resolve().parents[2]
SCHEMA = str(REPO / "rules" / "schemas" / "config.schema.yaml")
EMBEDDED = REPO / "presets" / "embedded.yaml"


def pipeline_config(*layers) -> dict:
    """config.yaml with each layer over it: a path, YAML text or a dict."""
    config: dict = {}
    for layer in (REPO / "config.yaml", *layers):
        if isinstance(layer, Path):
            layer = layer.read_text()
        if isinstance(layer, str):
            layer = yaml.safe_load(layer)
        update_config(config, layer or {})
    validate_config(config, SCHEMA)
    return config
