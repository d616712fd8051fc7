// `npm run bench`: every benchmark, each run on a fresh release server on a free port, repeated; prints one table
// and writes it to bench/results.md with a chart (bench/results.svg) that the README shows. Server figures come from
// the Rust load generator (bench/src), SDK figures from Chromium (bench/sdk.mjs) as ratios to the official client
// measured in the same run, since this machine's absolute times drift.
//   node bench/run.mjs [--runs N] [--only server|sdk|cluster]   (a part run writes bench/results-<part>.md instead)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer as startTestServer } from '../tests/e2e/helpers.mjs';
import { sdkBenchmarks } from './sdk.mjs';
import { clusterBenchmarks, runLoadgen } from './cluster.mjs';
import { startPostgres } from '../tests/e2e/cluster-helpers.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const BIN = join(ROOT, 'target/server');
const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const RUNS = Number(option('--runs', 3));
const ONLY = option('--only', 'all');
const dir = mkdtempSync(join(tmpdir(), 'stream-chat-bench-'));

/** Starts a server binary with the bench's limits on a fresh database; resolves once it listens. */
async function startServer(binary, { dev = false, args = [], db } = {}) {
  db ??= join(dir, `chat-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
  const limits = ['--idle-timeout', '600', '--message-burst', '1000000', '--messages-per-second', '1000000',
    '--max-connections', '15000', '--connections-per-user', '1000'];
  const server = await startTestServer({ binary, dev, db, args: [...limits, ...args],
    env: { ...process.env, RUST_LOG: 'warn' } });
  return { ...server, addr: new URL(server.url).host, pid: server.process.pid };
}

/** Runs the load generator to its end (see `runLoadgen`). */
const loadgen = (args) => runLoadgen(join(BIN, 'loadgen'), args);

/** One load-generator scenario on a fresh server; returns its figures. */
async function load(scenario, { binary = join(BIN, 'stream-chat-server'), db } = {}) {
  const server = await startServer(binary, { db, args: ['--api-key', 'bench-key', '--api-secret', 'bench-secret'] });
  try {
    const run = await loadgen(['--addr', server.addr, '--server-pid', String(server.pid), ...scenario]);
    if (run.status !== 0) throw new Error(`loadgen ${scenario.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout);
  } finally {
    await server.stop();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const rows = [];

/** Adds a table row: `values` over the runs, `target` as [`<=`|`>=`, number] or null. */
function row(name, unit, values, target = null, command = '') {
  const numbers = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  const figures = numbers.length ? { min: Math.min(...numbers), median: median(numbers), max: Math.max(...numbers) } : null;
  const within = (median) => (target[0] === '<=' ? median <= target[1] : median >= target[1]);
  const met = target ? figures !== null && within(figures.median) : null;
  rows.push({ name, unit, figures, target, met, none: none(values), command });
  const shown = figures ? `${fmt(figures.min)} / ${fmt(figures.median)} / ${fmt(figures.max)}` : none(values);
  console.log(`${name.padEnd(58)} ${shown.padStart(28)} ${unit.padEnd(12)} ${target ? `${target[0]} ${target[1]}` : ''}`);
}

/** What a row without numbers shows: "never" when every run gave up waiting. */
function none(values) {
  return values.length && values.every((v) => v === Infinity) ? 'never' : 'n/a';
}

function fmt(value) {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(value >= 10 ? 1 : 2);
}

async function repeat(times, scenario, options) {
  const results = [];
  for (let i = 0; i < times; i++) results.push(await load(scenario, options));
  return results;
}

async function serverBenchmarks() {
  const idleCmd = (n) => `loadgen idle --connections ${n}`;
  for (const n of [1000, 5000, 10000]) {
    const runs = await repeat(RUNS, ['idle', '--connections', String(n), '--settle', '60']);
    const target = n === 10000 ? ['<=', 20] : null;
    row(`idle WebSockets ${n}: RSS per connection`, 'KiB', runs.map((r) => r.kib_per_connection), target, idleCmd(n));
    if (n === 10000) {
      row('idle 10k closed: counted out after', 'ms', runs.map((r) => r.counted_out_ms), null, idleCmd(n));
      row('idle 10k closed: RSS back within 20 % of baseline after', 'ms',
        runs.map((r) => r.rss_recovered_ms ?? Infinity), ['<=', 60000], idleCmd(n));
    }
  }
  const system = join(BIN, 'stream-chat-server-system-alloc');
  const glibc = await repeat(1, ['idle', '--connections', '10000', '--settle', '60'], { binary: system });
  row('idle 10k, glibc malloc instead of jemalloc: RSS back after', 'ms',
    glibc.map((r) => r.rss_recovered_ms ?? Infinity), null, 'cargo build --features system-alloc');
  row('idle 10k, glibc malloc: RSS 60 s after close / baseline', '×',
    glibc.map((r) => r.rss_after_close_kib / r.rss_baseline_kib), null);
  const connects = await repeat(RUNS, ['connect-rate', '--connects', '5000']);
  row('connect rate (5,000 connects of known users, 64 at once)', 'connects/s',
    connects.map((r) => r.connects_per_second), ['>=', 3000], 'loadgen connect-rate');
  for (const watchers of [100, 1000, 5000]) {
    const runs = await repeat(RUNS, ['fanout', '--watchers', String(watchers), '--messages', '100']);
    const cmd = `loadgen fanout --watchers ${watchers}`;
    row(`fan-out to ${watchers} watchers, 20 msg/s: p50`, 'ms', runs.map((r) => r.p50_ms), null, cmd);
    row(`fan-out to ${watchers} watchers, 20 msg/s: p99`, 'ms', runs.map((r) => r.p99_ms),
      watchers === 5000 ? ['<=', 50] : null, cmd);
  }
  for (const senders of [1, 10, 50]) {
    const runs = await repeat(RUNS, ['ingest', '--senders', String(senders), '--seconds', '5']);
    const cmd = `loadgen ingest --senders ${senders}`;
    row(`ingest, ${senders} senders: acknowledged`, 'msg/s', runs.map((r) => r.messages_per_second),
      senders === 50 ? ['>=', 5000] : null, cmd);
    row(`ingest, ${senders} senders: p99 latency`, 'ms', runs.map((r) => r.p99_ms), null, cmd);
  }
  const polls = await repeat(RUNS, ['longpoll', '--clients', '1000', '--messages', '20']);
  row('long-poll 1,000 idle: RSS per connection', 'KiB', polls.map((r) => r.kib_per_connection), null, 'loadgen longpoll');
  row('long-poll 1,000, 10 msg/s: p99 delivery', 'ms', polls.map((r) => r.p99_ms), null, 'loadgen longpoll');
}

async function clusterFigures() {
  const figures = await clusterBenchmarks({ binary: join(BIN, 'stream-chat-server'), runs: RUNS });
  const cmd = 'bench/cluster.mjs';
  const { fanout, churn, spread, ...byUsers } = figures;
  const fanoutCmd = 'bench/cluster.mjs (loadgen fanout, watchers over 3 nodes)';
  row('cluster, 3 nodes: fan-out to 5,000 watchers spread over them, 20 msg/s: p50', 'ms', fanout.map((r) => r.p50_ms),
    null, fanoutCmd);
  row('cluster, 3 nodes: fan-out to 5,000 watchers spread over them, 20 msg/s: p99', 'ms', fanout.map((r) => r.p99_ms),
    ['<=', 100], fanoutCmd);
  row('cluster, 3 nodes: fan-out deliveries / expected', '×', fanout.map((r) => r.delivered / r.expected), null, fanoutCmd);
  row('cluster, 3 nodes: fan-out, gaps in numbered bus notes (all nodes)', 'gaps', fanout.map((r) => r.gaps), ['<=', 0],
    fanoutCmd);
  const churnCmd = 'bench/cluster.mjs churn';
  row('cluster, 3 nodes: 2,000 watchers join; every node agrees after the last', 'ms',
    churn.map((r) => r.join_agreed_ms), ['<=', 1000], churnCmd);
  row('cluster, 3 nodes: 1,000 of them leave as 1,000 arrive; every node agrees after the last', 'ms',
    churn.map((r) => r.churn_agreed_ms), ['<=', 1000], churnCmd);
  const spreadCmd = 'bench/cluster.mjs spread (loadgen spread, 15,000 sockets over 3 nodes)';
  const spreadRow = (name, unit, values, target = null) => row(`cluster, 15,000 sockets over 3 nodes: ${name}`, unit, values,
    target, spreadCmd);
  spreadRow('their connects', 'ms', spread.map((r) => r.connect_ms));
  spreadRow('their watches (3,000 of one channel, 12 each of 1,000)', 'ms', spread.map((r) => r.watch_ms));
  spreadRow('largest bus note, any node', 'B', spread.map((r) => Math.max(...r.largest_note_bytes)), ['<=', 65536]);
  spreadRow('gaps in numbered bus notes (all nodes)', 'gaps', spread.map((r) => r.gaps), ['<=', 0]);
  for (const kind of ['shared', 'local']) {
    const what = kind === 'shared' ? 'a message to the channel watched on every node' : 'a message to a one-node channel';
    spreadRow(`${what}: fan-out p50`, 'ms', spread.map((r) => r[kind].p50_ms));
    spreadRow(`${what}: fan-out p99`, 'ms', spread.map((r) => r[kind].p99_ms));
    spreadRow(`${what}: deliveries / expected`, '×', spread.map((r) => r[kind].delivered / r[kind].expected));
    for (const node of [0, 1, 2]) {
      spreadRow(`${what}: bus notes node ${node + 1} receives`, 'notes', spread.map((r) => r[`${kind}_received_per_message`][node].notes));
      spreadRow(`${what}: bus bytes node ${node + 1} receives`, 'B', spread.map((r) => r[`${kind}_received_per_message`][node].bytes));
    }
  }
  spreadRow('a message to a one-node channel: bus notes a node needs (its own channels, not the sender\'s node)',
    'notes', spread.map((r) => r.local_needed_per_message.reduce((a, b) => a + b, 0)));
  for (const [users, runs] of Object.entries(byUsers)) {
    const n = Number(users).toLocaleString('en');
    row(`cluster, ${n} users on node 1: their connects`, 'ms', runs.map((r) => r.connect_ms), null, cmd);
    row(`cluster, ${n} users on node 1: all online as seen from node 2`, 'ms', runs.map((r) => r.online_ms), null, cmd);
    row(`cluster, ${n} users on node 1: bytes to node 2 (following nobody) per connect`, 'B',
      runs.map((r) => r.connect_bytes_to_node2_per_user), null, cmd);
    row(`cluster, ${n} users: bus bytes per second while nothing changes`, 'B/s',
      runs.map((r) => r.idle_bus_bytes_per_s), ['<=', 1000], cmd);
    row(`cluster, ${n} users: bytes to a node without watchers, per message`, 'B',
      runs.map((r) => r.unwatched_bytes_per_message), ['<=', 50], cmd);
  }
  // A node on PostgreSQL (each run on a new throwaway database), as the single-node ingest rows on SQLite.
  for (const senders of [10, 50]) {
    const runs = [];
    for (let run = 0; run < RUNS; run += 1) {
      const postgres = startPostgres();
      try {
        runs.push(await load(['ingest', '--senders', String(senders), '--seconds', '5'], { db: postgres.url }));
      } finally {
        postgres.stop();
      }
    }
    const pgCmd = `loadgen ingest --senders ${senders} (node on PostgreSQL)`;
    row(`PostgreSQL, ingest, ${senders} senders: acknowledged`, 'msg/s', runs.map((r) => r.messages_per_second),
      senders === 50 ? ['>=', 3000] : null, pgCmd);
    row(`PostgreSQL, ingest, ${senders} senders: p99 latency`, 'ms', runs.map((r) => r.p99_ms), null, pgCmd);
  }
}

async function browserBenchmarks() {
  const server = await startServer(join(BIN, 'stream-chat-server'), { dev: true });
  try {
    const sdk = await sdkBenchmarks({ url: server.url, dir, runs: RUNS });
    const ratio = (key) => sdk.ours.map((ours, i) => ours[key] / sdk.official[i][key]);
    const cold = (kind, phase) => sdk.cold[kind].map((f) => f[phase]);
    row('SDK cold start (import → connectUser resolved; cache off, CPU ÷4), ours / official', '×',
      [median(cold('ours', 'total')) / median(cold('official', 'total'))], ['<=', 1], 'bench/sdk.mjs');
    row('SDK connectUser time (warm), ours / official', '×', ratio('connect_ms'), ['<=', 1.05]);
    row('SDK load 10 channels × 300 messages, ours / official', '×', ratio('load_ms'), ['<=', 0.8]);
    row('SDK ingest of a 10,000-event burst, ours / official', '× events/s', ratio('ingest_events_per_s'), ['>=', 2]);
    row('SDK memory after the 10 × 300 load, ours / official', '×', ratio('memory_after_load'), ['<=', 1]);
    row('SDK memory after the burst, ours / official', '×', ratio('memory_after_burst'));
    row('SDK memory after import, ours (JS heap + wasm memory)', 'MB', sdk.ours.map((f) => f.memory_after_import / 1e6));
    row('SDK memory after import, official (JS heap)', 'MB', sdk.official.map((f) => f.memory_after_import / 1e6));
    row('SDK connectUser, client\'s own part (before the socket + after the first frame), ours / official', '×',
      ratio('connect_own_ms'));
    row('SDK connectUser, ours', 'ms', sdk.ours.map((f) => f.connect_ms));
    row('SDK connectUser, official', 'ms', sdk.official.map((f) => f.connect_ms));
    for (const kind of ['ours', 'official']) {
      const figures = sdk[kind];
      row(`  ${kind}: until its socket exists (the socket's constructor included)`, 'ms',
        figures.map((f) => f.connect_before_socket_ms));
      row(`  ${kind}: from the first frame to resolving`, 'ms', figures.map((f) => f.connect_after_frame_ms));
    }
    row('SDK load 10 × 300, ours', 'ms', sdk.ours.map((f) => f.load_ms));
    row('SDK load 10 × 300, official', 'ms', sdk.official.map((f) => f.load_ms));
    row('SDK ingest, ours', 'events/s', sdk.ours.map((f) => f.ingest_events_per_s));
    row('SDK ingest, official', 'events/s', sdk.official.map((f) => f.ingest_events_per_s));
    row('SDK memory after load, ours (JS heap + wasm memory)', 'MB', sdk.ours.map((f) => f.memory_after_load / 1e6));
    row('  of which wasm linear memory', 'MB', sdk.ours.map((f) => f.wasm_memory_after_load / 1e6));
    row('SDK memory after load, official (JS heap)', 'MB', sdk.official.map((f) => f.memory_after_load / 1e6));
    for (const kind of ['ours', 'official']) {
      row(`SDK cold start, ${kind}`, 'ms', cold(kind, 'total'));
      for (const phase of ['import', 'init', 'construct', 'connect', 'fetch']) {
        row(`  ${kind}: ${phase}`, 'ms', cold(kind, phase));
      }
    }
    const tabs = sdk.tabs;
    row(`SDK server connections for ${tabs.tabs} tabs of one user, ours`, 'connections', [tabs.connections.ours],
      ['<=', 1], 'bench/tabs.mjs');
    row(`SDK server connections for ${tabs.tabs} tabs of one user, official`, 'connections',
      [tabs.connections.official]);
    row('SDK takeover of the shared connection when its tab closes, ours', 'ms', tabs.takeover_ms, ['<=', 1000]);
    const reload = sdk.reload;
    row('SDK first drawn channel after a reload, ours (local cache) / official', '×',
      [median(reload.ours) / median(reload.official)], ['<=', 1], 'bench/reload.mjs');
    for (const kind of ['ours', 'ours-no-cache', 'official']) {
      row(`SDK first drawn channel after a reload, ${kind}`, 'ms', reload[kind]);
    }
    row('bundle, ours (wasm + glue)', 'KB gzip', [sdk.size.ours / 1024], ['<=', 60]);
    row('bundle, official (browser build, minified)', 'KB gzip', [sdk.size.official / 1024]);
  } finally {
    await server.stop();
  }
}

function report() {
  const lines = [
    '# Benchmark results',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${RUNS} runs each (min / median / max), on this`,
    'project\'s 2-core machine; the load generator runs on the same cores as the server. Fan-out and long-poll',
    'latencies are measured after 5 warm-up messages. "never" means not within the 60 s the scenario waits.',
    'Regenerate with `npm run bench`.',
    '',
    '| figure | min | median | max | unit | target | met |',
    '|---|---:|---:|---:|---|---|---|',
    ...rows.map((r) => {
      const f = r.figures;
      const cells = f ? [fmt(f.min), fmt(f.median), fmt(f.max)] : Array(3).fill(r.none);
      const target = r.target ? `${r.target[0] === '<=' ? '≤' : '≥'} ${r.target[1]}` : '';
      const met = r.met === null ? '' : r.met ? 'yes' : '**no**';
      return `| ${r.name} | ${cells.join(' | ')} | ${r.unit} | ${target} | ${met} |`;
    }),
    '',
    '![targets](results.svg)',
    '',
  ];
  // A half run (`--only sdk|server`) goes beside the last full run's results instead of over them.
  if (ONLY !== 'all') {
    lines[0] = `# Benchmark results: ${ONLY} only`;
    writeFileSync(join(ROOT, `bench/results-${ONLY}.md`), lines.filter((l) => !l.includes('results.svg')).join('\n'));
    return;
  }
  writeFileSync(join(ROOT, 'bench/results.md'), lines.join('\n'));
  writeFileSync(join(ROOT, 'bench/results.svg'), chart(rows.filter((r) => r.target && r.figures)));
}

/** Bars of each targeted figure's median against its target: 1 is the target, longer is better. */
function chart(targeted) {
  const width = 760, barMax = 330, left = 400, rowHeight = 26, top = 30;
  const score = (r) => (r.target[0] === '<=' ? r.target[1] / r.figures.median : r.figures.median / r.target[1]);
  const x = (s) => left + Math.min(s, 2) / 2 * barMax;
  const height = top + targeted.length * rowHeight + 20;
  const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = targeted.map((r, i) => {
    const y = top + i * rowHeight;
    const s = Number.isFinite(score(r)) ? score(r) : 0;
    const label = `${fmt(r.figures.median)} ${r.unit} (target ${r.target[0] === '<=' ? '≤' : '≥'} ${r.target[1]})`;
    return `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${escape(r.name)}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(s) - left)}" height="16" fill="${s >= 1 ? '#2e7d32' : '#c62828'}"/>` +
      `<text x="${x(s) + 4}" y="${y + 16}">${escape(label)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 250}" height="${height}" font-family="sans-serif" font-size="12">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="10" y="18" font-weight="bold">Median against target (the line is the target; longer is better, capped at 2×)</text>` +
    bars.join('') +
    `<line x1="${x(1)}" y1="${top}" x2="${x(1)}" y2="${height - 16}" stroke="black" stroke-dasharray="4 3"/>` +
    '</svg>\n';
}

try {
  console.log(`${'figure'.padEnd(58)} ${'min / median / max'.padStart(28)} unit         target`);
  if (ONLY === 'all' || ONLY === 'server') await serverBenchmarks();
  if (ONLY === 'all' || ONLY === 'cluster') await clusterFigures();
  if (ONLY === 'all' || ONLY === 'sdk') await browserBenchmarks();
  report();
  console.log(`\nwritten: ${ONLY === 'all' ? 'bench/results.md, bench/results.svg' : `bench/results-${ONLY}.md`}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
