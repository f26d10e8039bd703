#!/usr/bin/env bash
# GPU check of the speed issue: runs benchmarks/gpu_check.py (training and MD steps, a
# short real training, GPU against CPU results) on a machine with an NVIDIA GPU and
# writes one JSON (default benchmarks/results/gpu_check.json). At most 8 minutes.
#
#   benchmarks/gpu_check.sh                     # find or make a Python with GPU TensorFlow
#   benchmarks/gpu_check.sh --no-install        # never create .venv-gpu (fail instead)
#   benchmarks/gpu_check.sh --json out.json     # other options go to gpu_check.py
#
# The Python: $GMNN_GPU_PYTHON, else the first of .venv/bin/python, .venv-gpu/bin/python
# and python3 whose TensorFlow sees a GPU; else (unless --no-install) .venv-gpu is created
# with `pip install -e . tensorflow[and-cuda]` (needs the network; ~3 GB).
set -euo pipefail

cd "$(dirname "$0")/.."
install=1
args=()
for a in "$@"; do
    case "$a" in
        --no-install) install=0 ;;
        *) args+=("$a") ;;
    esac
done

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_check.sh: no nvidia-smi on this machine: no NVIDIA GPU (or driver) to check" >&2
    exit 2
fi
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
    echo "gpu_check.sh: nvidia-smi lists no GPU: $(nvidia-smi -L 2>&1 | head -n 1)" >&2
    exit 2
fi
nvidia-smi -L

sees_gpu() {
    [ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
    TF_CPP_MIN_LOG_LEVEL=3 timeout 120 "$1" -c \
        "import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)" \
        >/dev/null 2>&1
}

py=""
for cand in "${GMNN_GPU_PYTHON:-}" .venv/bin/python .venv-gpu/bin/python python3; do
    if [ -n "$cand" ] && sees_gpu "$cand"; then
        py="$cand"
        break
    fi
done
if [ -z "$py" ]; then
    if [ "$install" -eq 0 ]; then
        echo "gpu_check.sh: no Python here has a TensorFlow that sees the GPU (tried" \
            "\$GMNN_GPU_PYTHON, .venv, .venv-gpu, python3) and --no-install was given" >&2
        exit 2
    fi
    echo "gpu_check.sh: creating .venv-gpu (pip install -e . tensorflow[and-cuda])" >&2
    python3 -m venv .venv-gpu
    if ! .venv-gpu/bin/pip install -q -e . "tensorflow[and-cuda]"; then
        echo "gpu_check.sh: pip install into .venv-gpu failed (no network?); set" \
            "GMNN_GPU_PYTHON to a Python with gmnn's dependencies and GPU TensorFlow" >&2
        exit 2
    fi
    py=.venv-gpu/bin/python
    if ! sees_gpu "$py"; then
        echo "gpu_check.sh: TensorFlow in .venv-gpu does not see the GPU either" >&2
        exit 2
    fi
fi
echo "gpu_check.sh: using $py" >&2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# the whole script within 8 minutes: the check gets what the set-up left of 480 s
left=$((480 - SECONDS))
if [ "$left" -lt 120 ]; then
    echo "gpu_check.sh: only ${left} s of the 8 minutes left after the set-up; not started" >&2
    exit 2
fi
timeout "$left" "$py" benchmarks/gpu_check.py ${args[@]+"${args[@]}"}
