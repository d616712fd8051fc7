#!/usr/bin/env bash
# What one more REST method costs an app: the package built again with the `method-probe` feature (sixteen extra
# table-driven methods, src/js/method_probe.rs) the way build.sh builds it (wasm-bindgen, the same wasm-opt passes,
# short import names, snippets inlined, terser), compared with pkg/. Prints the gzip difference per method against
# its budget. Run after build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --quiet --release --target wasm32-unknown-unknown --features method-probe
wasm-bindgen --target web --out-dir "$dir" target/wasm32-unknown-unknown/release/stream_chat_wasm.wasm
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue "$dir/stream_chat_wasm_bg.wasm" -o "$dir/opt.wasm"
mv "$dir/opt.wasm" "$dir/stream_chat_wasm_bg.wasm"
node scripts/short-imports.mjs "$dir/stream_chat_wasm_bg.wasm" "$dir/stream_chat_wasm.js" >/dev/null
node scripts/inline-snippets.mjs "$dir" >/dev/null
terser "$dir/stream_chat_wasm.js" --module --compress --mangle --output "$dir/stream_chat_wasm.js"
node scripts/size.mjs --methods "$dir" 16
