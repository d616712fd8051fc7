#!/usr/bin/env bash
# Builds the SDK package into pkg/ (scripts/package.sh) and prints the size report: the package, what each crate
# costs, what one more REST method costs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/package.sh "$PWD/pkg"
node scripts/size.mjs
bash scripts/size-deps.sh
bash scripts/size-methods.sh
