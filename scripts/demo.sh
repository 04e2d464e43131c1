#!/usr/bin/env bash
# The main job on the embedded default: builds if needed, then the paper in miniature: simulates a
# population of 100 on-centre neurons, fits the factorized CNN and per-neuron ridge regression,
# prints both FEVs and writes summary.json and figures to results/mini.
# Usage: scripts/demo.sh [ww-repro options...]   (see build/tools/ww-repro --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh build
exec build/tools/ww-repro mini "$@"
