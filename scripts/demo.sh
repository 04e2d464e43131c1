#!/usr/bin/env bash
# The main job on the embedded default: builds if needed, then fits a small model to simulated neurons.
# Usage: scripts/demo.sh [ww-demo options...]   (see build/tools/ww-demo --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh build
exec build/tools/ww-demo "$@"
