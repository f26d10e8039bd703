#!/usr/bin/env sh
# Run by Snakemake in the freshly created envs/gmnn.yaml environment, from the directory
# Snakemake runs in (the repository root): install gmnn (editable) with its dependencies.
set -eu
python -m pip install --no-input -e ".[pipeline]"
