#!/usr/bin/env bash
# Builds the SDK package into pkg/ (release, size-tuned, optimised with the npm binaryen's wasm-opt) and prints the
# size report: the package, what each crate costs, what one more REST method costs. Debian's binaryen breaks
# wasm-bindgen output (shared/TOOLCHAIN.md), so ours goes first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Without the std feature the crate is no_std with its own panic handler and allocator (see Cargo.toml).
wasm-pack build --release --target web --mode no-install --no-pack
# wasm-pack writes a catch-all .gitignore into pkg/, which would hide the files from `npm pack`; the root
# .gitignore already keeps pkg/ out of git.
rm -f pkg/.gitignore
# `[Symbol.dispose]` needs TypeScript's esnext lib; leave it out of the declarations so apps on ES2022 type-check.
sed -i '/\[Symbol.dispose\]()/d' pkg/stream_chat_wasm.d.ts
# wasm-bindgen names each import after its Rust item plus a hash, in the wasm and again in the glue: shorten them.
node scripts/short-imports.mjs pkg/stream_chat_wasm_bg.wasm pkg/stream_chat_wasm.js
# Each `inline_js` snippet is one more module to fetch after the glue: fold them into it.
node scripts/inline-snippets.mjs pkg
# The glue wasm-bindgen writes is readable JS with every doc comment; ship it minified (exports keep their names).
terser pkg/stream_chat_wasm.js --module --compress --mangle --output pkg/stream_chat_wasm.js
node scripts/size.mjs
bash scripts/size-deps.sh
bash scripts/size-methods.sh
