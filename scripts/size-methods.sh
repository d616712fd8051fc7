#!/usr/bin/env bash
# What one more REST method costs an app: the package built again, by scripts/package.sh as it ships, with the
# `method-probe` feature (sixteen extra table-driven methods, src/js/method_probe.rs), compared with pkg/. Prints
# the gzip difference per method against its budget. Run after build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bash scripts/package.sh "$dir" --features method-probe >/dev/null 2>&1
node scripts/size.mjs --methods "$dir" 16
