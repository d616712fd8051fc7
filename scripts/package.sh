#!/usr/bin/env bash
# Builds the SDK package into OUTDIR exactly as it ships: wasm-pack's release build (wasm-opt with the passes in
# Cargo.toml's wasm-pack metadata, from the npm binaryen first on PATH: Debian's breaks wasm-bindgen output, see
# shared/TOOLCHAIN.md), short import and export names, the glue's snippets folded into it, the glue minified. Extra arguments
# go to cargo (scripts/size-methods.sh builds with `--features method-probe`).
#   scripts/package.sh OUTDIR [CARGO ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
out=$1
shift
# The pinned nightly (Cargo.toml, [package.metadata.sdk]) rebuilds the standard library for the SDK: panics are bare
# traps, `Debug` prints nothing, and LLVM inlines a little more than `opt-level = "z"` lets it (threshold 10, not 5:
# smaller, as calls and their argument shuffling go). std itself stays at opt-level 3, as the prebuilt one is: the
# wasm is 311 B smaller that way than with std at "z", and ingest does not lose the few % it lost at "z" (README,
# "Size"). The flags go in with `--config`, whose arrays cargo appends to .cargo/config.toml's (the stack size), and
# reach only the wasm, not build scripts or macros.
toolchain=$(sed -n 's/^toolchain = "\(.*\)"$/\1/p' Cargo.toml)
sdk_flags='["-Zunstable-options", "-Cpanic=immediate-abort", "-Zfmt-debug=none", "-Zlocation-detail=none", "-Cllvm-args=-inline-threshold=10"]'
RUSTUP_TOOLCHAIN=$toolchain CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
  wasm-pack build --release --target web --mode no-install --no-pack --out-dir "$out" -- \
  --config "target.wasm32-unknown-unknown.rustflags=$sdk_flags" \
  --config 'profile.release.package.std.opt-level=3' --config 'profile.release.package.core.opt-level=3' \
  --config 'profile.release.package.alloc.opt-level=3' "$@"
# wasm-pack writes a catch-all .gitignore into the package, which would hide the files from `npm pack`; the root
# .gitignore already keeps pkg/ out of git.
rm -f "$out/.gitignore"
# `[Symbol.dispose]` needs TypeScript's esnext lib; leave it out of the declarations so apps on ES2022 type-check.
sed -i '/\[Symbol.dispose\]()/d' "$out/stream_chat_wasm.d.ts"
# The shipped build has no panic hook: the glue's guard sees a trap (src/platform/fatal.rs).
node scripts/guard-traps.mjs "$out/stream_chat_wasm.js"
# wasm-bindgen names each import after its Rust item plus a hash and each export after its class and method, in the
# wasm and again in the glue: shorten them.
node scripts/short-names.mjs "$out/stream_chat_wasm_bg.wasm" "$out/stream_chat_wasm.js"
# Each `inline_js` snippet is one more module to fetch after the glue: fold them into it.
node scripts/inline-snippets.mjs "$out"
# The glue wasm-bindgen writes is readable JS with every doc comment; ship it minified (exports keep their names).
# A second compress pass: −23 B gzip.
terser "$out/stream_chat_wasm.js" --module --compress passes=2 --mangle --output "$out/stream_chat_wasm.js"
# V8 (Chrome 136+) compiles every function of a file that starts with this comment eagerly, off the main thread
# while the module streams in, instead of one at a time on first call: `new StreamChat` and `connectUser` call ~95
# of the glue's functions, which a cold start otherwise compiled in its connect phase (README, "Performance").
sed -i '1i //# allFunctionsCalledOnLoad' "$out/stream_chat_wasm.js"
# The glue must parse as a module: terser passes a helper that redeclares a name, a browser does not.
node --input-type=module --check < "$out/stream_chat_wasm.js"
