#!/usr/bin/env sh
# Run by Snakemake in the freshly created envs/qc.yaml environment, from the directory
# Snakemake runs in (the repository root): install gmnn (editable) without its training
# dependencies (TensorFlow); envs/qc.yaml provides what gmnn.data needs.
set -eu
python -m pip install --no-input --no-deps -e .
