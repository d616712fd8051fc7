#!/usr/bin/env bash
# `npm test`: every test, against real parts. Native Rust tests (protocol, SDK core, server on real listeners), the
# release package built and measured, the SDK in headless Chromium against a real server, and Node end-to-end tests
# (Playwright driving Debian's Chromium; the official stream-chat client).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH:/usr/sbin"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"

step() { printf '\n==== %s  [%d s into npm test]\n' "$*" "$SECONDS"; }

server_pid=""
server_dir=$(mktemp -d)
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  bash scripts/postgres.sh stop "$server_dir/postgres"
  rm -rf "$server_dir"
}
trap cleanup EXIT

step "setup"
bash scripts/setup.sh --browser

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings
node scripts/server-layers.mjs
node scripts/sdk-layers.mjs

step "native tests: protocol, SDK core, server"
cargo test --workspace

step "server tests again, on PostgreSQL (a throwaway server in a temporary data directory)"
postgres_url=$(bash scripts/postgres.sh start "$server_dir/postgres")
STREAM_TEST_POSTGRES="$postgres_url" cargo test -p stream-chat-server --tests
bash scripts/postgres.sh stop "$server_dir/postgres"

step "release package and size report"
bash scripts/build.sh
cargo build -p stream-chat-server

step "TypeScript: app code in the official docs' style against the declarations (tsc --strict, tests/types/)"
tsc -p tests/types

step "SDK in headless Chromium (wasm-bindgen-test) against a real server"
target/debug/stream-chat-server --dev --port 0 --db "$server_dir/browser-tests.db" >"$server_dir/out" 2>"$server_dir/err" &
server_pid=$!
deadline=$((SECONDS + 30))
until url=$(grep -o 'http://[0-9.:]*' "$server_dir/out" 2>/dev/null | head -n 1) && [ -n "$url" ]; do
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$server_pid" 2>/dev/null; then
    echo "server did not start:"; cat "$server_dir/err"; exit 1
  fi
  sleep 0.1
done
echo "server at $url"
CHAT_SERVER_URL="$url" WASM_BINDGEN_TEST_TIMEOUT=60 timeout --kill-after=30 1200 wasm-pack test --headless --chrome --mode no-install
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

step "end-to-end: Playwright + Chromium, official stream-chat client (Node)"
# Bounded: a test gets 5 minutes and the suite 25, so a hang fails with the test's name instead of stalling CI.
timeout --kill-after=30 1500 node --test --test-concurrency=1 --test-timeout=300000 tests/e2e/
step "done"
