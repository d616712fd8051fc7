#!/usr/bin/env bash
# What each dependency costs in the shipped wasm: the release wasm, run through wasm-bindgen and the same wasm-opt
# passes as the package but keeping function names (-g), measured with twiggy and summed by crate. Sizes are of
# code and data after optimisation, before gzip; the names section itself is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
command -v twiggy >/dev/null || cargo install twiggy --version 0.8.0 --locked --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
wasm-bindgen --target web --out-dir "$dir" target/wasm32-unknown-unknown/release/stream_chat_wasm.wasm
# The package's wasm-opt flags, as Cargo.toml gives them to wasm-pack.
mapfile -t flags < <(sed -n 's/^wasm-opt = \[\(.*\)\]$/\1/p' Cargo.toml | tr -d '"' | tr ',' '\n' | sed 's/^ *//')
wasm-opt "${flags[@]}" -g "$dir/stream_chat_wasm_bg.wasm" -o "$dir/named.wasm"
twiggy top -n 1000000 --format csv "$dir/named.wasm" > "$dir/top.csv"
node scripts/size-deps.mjs "$dir/top.csv"
