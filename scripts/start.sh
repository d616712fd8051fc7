#!/usr/bin/env bash
# `npm start`: builds the SDK and the server, then runs the server in dev mode, serving the demo page at / and the
# package at /pkg/. PORT overrides 8080; STREAM_DB the database file. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cargo build --profile server -p stream-chat-server
port="${PORT:-8080}"
echo
echo "Demo: http://127.0.0.1:${port}/   (Ctrl-C to stop)"
exec target/server/stream-chat-server --dev --port "$port" --www www --pkg pkg --db "${STREAM_DB:-stream-chat-dev.db}"
