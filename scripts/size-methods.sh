#!/usr/bin/env bash
# What one more REST method costs an app: the package built again, by scripts/package.sh as it ships, with the
# `method-probe` feature (sixteen extra table-driven methods, src/js/method_probe.rs), compared with pkg/. Prints
# the gzip difference per method against its budget. Run after build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Its output is shown only when it fails (a probe that no longer builds must stop the build, saying why).
if ! bash scripts/package.sh "$dir" --features method-probe >"$dir.log" 2>&1; then
  cat "$dir.log" >&2
  rm -f "$dir.log"
  exit 1
fi
rm -f "$dir.log"
node scripts/size.mjs --methods "$dir" 16
