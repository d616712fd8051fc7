#!/usr/bin/env bash
# `npm run bench`: builds the release server (and a glibc-malloc build to compare allocators), the load generator
# and the SDK package, then runs every benchmark (bench/run.mjs) and writes bench/results.md and bench/results.svg.
# Not part of `npm test`: it takes about a quarter of an hour and its figures are not pass/fail tests.
#   npm run bench [-- --runs N] [-- --only server|sdk|cluster]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH:/usr/sbin"

bash scripts/setup.sh --browser
# 10,000 sockets on each side of loopback, plus files: the machine allows 20,000 open files per process.
ulimit -n 20000
cargo build --profile server -p stream-chat-server --features system-alloc
cp target/server/stream-chat-server target/server/stream-chat-server-system-alloc
cargo build --profile server -p stream-chat-server -p stream-chat-bench
bash scripts/build.sh >/dev/null
node bench/run.mjs "$@"
