#!/usr/bin/env bash
# Installs what building and testing need, and only what is missing, from crates.io, npm and Debian's apt (nothing
# is downloaded from anywhere else). Idempotent and quick when everything is there.
#   scripts/setup.sh            toolchain for building (rust wasm target, wasm-bindgen-cli, wasm-pack, npm packages)
#   scripts/setup.sh --browser  also Debian's chromium and chromium-driver (for tests)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The shipped wasm's toolchain (Cargo.toml, [package.metadata.sdk]): a pinned nightly with the standard library's
# source, which scripts/package.sh rebuilds for the SDK, and the wasm target (wasm-pack checks it is there).
sdk_toolchain=$(sed -n 's/^toolchain = "\(.*\)"$/\1/p' Cargo.toml)
sdk_sysroot=$(RUSTUP_AUTO_INSTALL=0 rustup run "$sdk_toolchain" rustc --print sysroot 2>/dev/null || true)
if [ -z "$sdk_sysroot" ] || [ ! -d "$sdk_sysroot/lib/rustlib/src/rust/library" ] ||
  [ ! -d "$sdk_sysroot/lib/rustlib/wasm32-unknown-unknown" ]; then
  say "installing the SDK's toolchain, $sdk_toolchain (about 20 s, once)"
  rustup toolchain install "$sdk_toolchain" --profile minimal --component rust-src --target wasm32-unknown-unknown
fi

# wasm-pack uses the wasm-bindgen CLI on PATH only when it is exactly the crate version in Cargo.lock.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (a few minutes, once)"
  # --locked can name a dependency version the registry no longer serves; the CLI version stays exact either way.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --locked --force ||
    cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

wasm_pack_version=0.15.1
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$wasm_pack_version" ]; then
  say "installing wasm-pack $wasm_pack_version (a few minutes, once)"
  cargo install wasm-pack --version "$wasm_pack_version" --locked --force ||
    cargo install wasm-pack --version "$wasm_pack_version" --force
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi

# Tests also need a browser and its driver, nginx (the WebSocket-blocking proxy of the fallback tests and the
# cluster's load balancer), PostgreSQL and NATS.
if [ "${1:-}" = "--browser" ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  # The cluster: every server test also runs on PostgreSQL, and the cluster test runs two nodes on NATS.
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing Debian's ${missing[*]}"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      say "missing ${missing[*]}: install them with apt (sudo apt-get install ${missing[*]})"
      exit 1
    fi
  fi
fi
