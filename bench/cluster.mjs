// The cluster half of `npm run bench` (`--only cluster`): two release nodes on one PostgreSQL and one nats-server
// (with its monitoring port), every part a real process. Figures come from NATS's own counters, so they are what
// the bus carries, whatever the server believes it sends:
// - with N users connected to node 1 (ids of 48 characters), how long their connections take, how long until
//   node 2 sees them all online, the bytes NATS delivers to node 2 per user meanwhile (node 2 follows nobody's
//   presence: live-state deltas only), and the bytes per second the bus carries once nothing changes;
// - with a channel watched only on node 1, the bytes NATS delivers to node 2 per message sent in it;
// - fan-out across three nodes: 5,000 watchers of one channel spread over the three, messages sent on node 1,
//   delivery latency as `loadgen fanout` measures it on one node;
// - churn across three nodes: 2,000 watchers of one channel spread over the three, then half of them leave while
//   as many new ones arrive; how long until every node counts the channel's watchers and shows who is online as
//   they are;
// - spread over three nodes (`loadgen spread`): 15,000 WebSockets, one channel watched on every node and 1,000
//   channels each watched on one node; per node, the bus notes and bytes it receives per message of each kind (from
//   its own `chat_bus_*` counters), the largest note it publishes, delivery latency of both kinds.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectOfficial, metric, signToken, startServer } from '../tests/e2e/helpers.mjs';
import { KEY, SECRET, connectMany, connectUrl, startNats, startPostgres, until } from '../tests/e2e/cluster-helpers.mjs';

/** Bytes NATS delivered to node 2 (the second node to connect to it), and bytes published on it in all. */
async function natsCounters(monitorUrl) {
  const connz = await fetch(`${monitorUrl}/connz?sort=cid`).then((response) => response.json());
  const varz = await fetch(`${monitorUrl}/varz`).then((response) => response.json());
  return { toNode2: connz.connections?.[1]?.out_bytes ?? 0, inBytes: varz.in_bytes };
}

/** Starts `count` `server`-profile nodes (`n1`, `n2`, …) of `binary` on one PostgreSQL and one NATS, with the
 * bench's limits (`args` adds to them). The idle timeout is long: the bench's bare sockets send no health checks. */
async function startNodes({ binary, postgres, nats, count, key = KEY, secret = SECRET, args = [] }) {
  const nodes = [];
  for (let n = 1; n <= count; n += 1) {
    nodes.push(await startServer({
      binary, dev: false, db: postgres.url, apiKey: key, secret,
      args: ['--node-id', `n${n}`, '--bus', nats.url, '--idle-timeout', '600', '--max-connections', '15000', ...args],
      env: { ...process.env, RUST_LOG: 'warn' },
    }));
  }
  return nodes;
}

/** One run against `binary`: figures for `users` users. */
export async function clusterRun({ binary, users }) {
  const postgres = startPostgres();
  const nats = await startNats(undefined, { monitor: true });
  const nodes = [];
  const sockets = [];
  try {
    nodes.push(...await startNodes({ binary, postgres, nats, count: 2,
      args: ['--message-burst', '1000000', '--messages-per-second', '1000000'] }));
    const [n1, n2] = nodes;
    const observer = await connectOfficial(n2.url, { id: 'observer' }, { key: KEY, secret: SECRET });
    const ids = Array.from({ length: users }, (_, at) => `bench-user-${String(at).padStart(6, '0')}-${'y'.repeat(30)}`);
    const connectsBefore = await natsCounters(nats.monitorUrl);
    const started = performance.now();
    sockets.push(...await connectMany(n1.url, ids));
    const connectedMs = performance.now() - started;
    const sample = ids.filter((_, at) => at % Math.ceil(users / 99) === 0).concat(ids.at(-1));
    await until(async () => {
      const { users: seen } = await observer.queryUsers({ id: { $in: sample } }, { id: 1 }, { limit: 100 });
      return seen.length === sample.length && seen.every((user) => user.online);
    }, 'node 2 sees every user online', 120_000);
    const onlineMs = performance.now() - started;
    const connectsAfter = await natsCounters(nats.monitorUrl);

    // Idle: nothing changes for 5 s.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = await natsCounters(nats.monitorUrl);
    const windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const after = await natsCounters(nats.monitorUrl);
    const idleBytesPerSecond = (after.inBytes - before.inBytes) / ((performance.now() - windowStart) / 1000);

    // A channel watched only on node 1: what reaches node 2 per message.
    const sender = await connectOfficial(n1.url, { id: 'sender' }, { key: KEY, secret: SECRET });
    const channel = sender.channel('messaging', 'bench-local', { members: ['sender'] });
    await channel.watch();
    const quietBefore = await natsCounters(nats.monitorUrl);
    const messages = 200;
    for (let at = 0; at < messages; at += 1) await channel.sendMessage({ text: `message ${at} ${'z'.repeat(100)}` });
    const quietAfter = await natsCounters(nats.monitorUrl);
    await sender.disconnectUser();
    await observer.disconnectUser();
    return {
      connect_ms: connectedMs,
      online_ms: onlineMs,
      idle_bus_bytes_per_s: idleBytesPerSecond,
      connect_bytes_to_node2_per_user: (connectsAfter.toNode2 - connectsBefore.toNode2) / users,
      unwatched_bytes_per_message: (quietAfter.toNode2 - quietBefore.toNode2) / messages,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const node of nodes) await node.stop();
    await nats.stop();
    postgres.stop();
  }
}

/** Runs the load generator's `scenario` against `count` fresh nodes on one PostgreSQL and one NATS, with the
 * generator's own key and secret: channels made and messages sent on node 1, connections over the first `spread`
 * nodes. `counted` adds what the nodes counted to the generator's figures. */
async function loadgenOnCluster({ binary, count, spread = count, scenario, counted = async () => ({}) }) {
  const postgres = startPostgres();
  const nats = await startNats();
  const nodes = [];
  try {
    nodes.push(...await startNodes({ binary, postgres, nats, count, key: 'bench-key', secret: 'bench-secret',
      args: ['--message-burst', '1000000', '--messages-per-second', '1000000', '--connections-per-user', '1000'] }));
    const host = (node) => new URL(node.url).host;
    const args = ['--addr', host(nodes[0]), ...nodes.slice(0, spread).flatMap((node) => ['--watchers-addr', host(node)]),
      ...scenario];
    const run = await runLoadgen(join(binary, '..', 'loadgen'), args);
    if (run.status !== 0) throw new Error(`loadgen ${args.join(' ')}: ${run.stderr}`);
    return { ...JSON.parse(run.stdout), ...await counted(nodes) };
  } finally {
    for (const node of nodes) await node.stop();
    await nats.stop();
    postgres.stop();
  }
}

/** Fan-out across `nodes` nodes on one PostgreSQL and one NATS: `loadgen fanout` with its watchers spread over
 * the first `spread` nodes (every node by default) and the sender on node 1. */
export async function clusterFanout({ binary, watchers = 5000, nodes: count = 3, messages = 100, spread = count }) {
  const scenario = ['fanout', '--watchers', String(watchers), '--messages', String(messages)];
  return loadgenOnCluster({ binary, count, spread, scenario, counted: lossCounters });
}

/** What each node counted meanwhile: notes NATS dropped for it, notes its bus queue dropped, resyncs it asked,
 * gaps in the numbered notes it heard, connections it dropped as slow consumers; and `gaps`, their sum. */
async function lossCounters(nodes) {
  const figures = { gaps: 0 };
  for (const [n, node] of nodes.entries()) {
    figures[`n${n + 1}_bus_lost`] = await metric(node.url, 'chat_bus_lost_total');
    figures[`n${n + 1}_resyncs`] = await metric(node.url, 'chat_bus_resyncs_total');
    figures[`n${n + 1}_bus_dropped`] = await metric(node.url, 'chat_bus_dropped_total');
    figures[`n${n + 1}_gaps`] = await metric(node.url, 'chat_bus_gaps_total');
    figures[`n${n + 1}_slow_dropped`] = await metric(node.url, 'chat_slow_consumers_dropped_total');
    figures.gaps += figures[`n${n + 1}_gaps`];
  }
  return figures;
}

/** The cluster's capacity as it grows (`loadgen spread`): `connections` WebSockets over three nodes, one channel
 * watched on every node and 1,000 channels each watched on one node; what each node's bus delivers per message,
 * the largest note, delivery latency. */
export async function clusterSpread({ binary, connections = 15_000, channels = 1_000, sharedPerNode = 1_000, count = 3 }) {
  const scenario = ['spread', '--connections', String(connections), '--channels', String(channels),
    '--shared-per-node', String(sharedPerNode)];
  return loadgenOnCluster({ binary, count, scenario, counted: lossCounters });
}

/** Connects `id` to the node at `url` over a bare WebSocket and makes that connection watch `cid`; resolves with
 * the socket (whose frames `ws` reads and drops). */
async function watcherOn(url, id, cid) {
  const { default: WebSocket } = await import('ws');
  const token = signToken({ user_id: id }, SECRET);
  const socket = new WebSocket(connectUrl(url, id));
  const connectionId = await new Promise((resolve, reject) => {
    socket.once('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.connection_id) resolve(frame.connection_id);
      else reject(new Error(`${id}: ${data}`));
    });
    socket.once('error', reject);
  });
  const [type, channelId] = cid.split(':');
  const response = await fetch(`${url}/channels/${type}/${channelId}/query?api_key=${KEY}&connection_id=${connectionId}`, {
    method: 'POST',
    headers: { Authorization: token, 'stream-auth-type': 'jwt', 'Content-Type': 'application/json' },
    body: JSON.stringify({ watch: true, state: false }),
  });
  if (!response.ok) throw new Error(`${id}: watch answered ${response.status} ${await response.text()}`);
  return socket;
}

/** [`watcherOn`] for each of `ids`, round robin over `nodes`, `batch` at a time. */
async function watchersOver(nodes, ids, cid, batch = 100) {
  const sockets = [];
  for (let at = 0; at < ids.length; at += batch) {
    sockets.push(...await Promise.all(ids.slice(at, at + batch).map((id, k) => watcherOn(nodes[(at + k) % nodes.length].url, id, cid))));
  }
  return sockets;
}

/** Churn across `nodes` nodes on one PostgreSQL and one NATS: `watchers` connections watch one livestream channel,
 * spread over the nodes; then half of them close while as many new users connect and watch. Reports how long
 * after each step every node agrees with what is: the channel's `watcher_count`, and a sample of the users who
 * stayed, left and came `online` or not, as an official client connected to that node sees them. */
export async function clusterChurn({ binary, watchers = 2000, nodes: count = 3 }) {
  const postgres = startPostgres();
  const nats = await startNats();
  const nodes = [];
  const sockets = [];
  const observers = [];
  try {
    nodes.push(...await startNodes({ binary, postgres, nats, count, args: ['--connections-per-user', '1000'] }));
    for (const [n, node] of nodes.entries()) observers.push(await connectOfficial(node.url, { id: `observer-${n}` }, { key: KEY, secret: SECRET }));
    const cid = `livestream:churn-${Date.now()}`;
    const [type, channelId] = cid.split(':');
    await observers[0].channel(type, channelId).create();
    const name = (at) => `churn-${String(at).padStart(6, '0')}`;
    const first = Array.from({ length: watchers }, (_, at) => name(at));
    const arriving = Array.from({ length: watchers / 2 }, (_, at) => name(watchers + at));
    const leaving = first.filter((_, at) => at % 2 === 0);
    const staying = first.filter((_, at) => at % 2 === 1);
    const pick = (ids) => ids.filter((_, at) => at % Math.ceil(ids.length / 33) === 0).slice(0, 33);
    /** Resolves with the ms until every node agrees with `online` / `offline` and `expected` watchers. */
    const agreed = async (expected, online, offline) => {
      const since = performance.now();
      const sample = [...online, ...offline];
      await until(async () => {
        for (const observer of observers) {
          const { watcher_count: seen } = await observer.channel(type, channelId).query({ state: true, watch: false });
          if (seen !== expected) return false;
          const { users } = await observer.queryUsers({ id: { $in: sample } }, { id: 1 }, { limit: 100 });
          const on = new Set(users.filter((user) => user.online).map((user) => user.id));
          if (!online.every((id) => on.has(id)) || offline.some((id) => on.has(id))) return false;
        }
        return true;
      }, 'every node agrees', 120_000);
      return performance.now() - since;
    };

    let started = performance.now();
    const joined = await watchersOver(nodes, first, cid);
    sockets.push(...joined);
    const joinMs = performance.now() - started;
    const joinAgreedMs = await agreed(watchers, pick(first), []);

    // Half leave (every other one, so from every node) while as many arrive.
    started = performance.now();
    const leavingSockets = joined.filter((_, at) => at % 2 === 0);
    for (const socket of leavingSockets) socket.close();
    sockets.push(...await watchersOver(nodes, arriving, cid));
    const churnMs = performance.now() - started;
    const churnAgreedMs = await agreed(watchers, [...pick(staying), ...pick(arriving)], pick(leaving));
    return { watchers, join_ms: joinMs, join_agreed_ms: joinAgreedMs, churn_ms: churnMs, churn_agreed_ms: churnAgreedMs };
  } finally {
    for (const socket of sockets) socket.terminate();
    for (const observer of observers) await observer.disconnectUser();
    for (const node of nodes) await node.stop();
    await nats.stop();
    postgres.stop();
  }
}

/** Runs the load generator at `path` to its end; resolves with its status and output. Not `spawnSync`: this
 * process must keep reading the servers' output meanwhile, or a server that logs a lot blocks on its full pipe. */
export function runLoadgen(path, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Every cluster figure, `runs` times, for 1,000 and 10,000 users. */
export async function clusterBenchmarks({ binary, runs }) {
  const figures = {};
  for (const users of [1_000, 10_000]) {
    figures[users] = [];
    for (let run = 0; run < runs; run += 1) figures[users].push(await clusterRun({ binary, users }));
  }
  figures.fanout = [];
  for (let run = 0; run < runs; run += 1) figures.fanout.push(await clusterFanout({ binary }));
  figures.churn = [];
  for (let run = 0; run < runs; run += 1) figures.churn.push(await clusterChurn({ binary }));
  figures.spread = [];
  for (let run = 0; run < runs; run += 1) figures.spread.push(await clusterSpread({ binary }));
  return figures;
}

// `node bench/cluster.mjs <server binary> [users | fanout | churn | spread]`: one run, printed (to compare two builds).
if (import.meta.url === `file://${process.argv[1]}`) {
  const binary = process.argv[2] ?? join(new URL('../', import.meta.url).pathname, 'target/server/stream-chat-server');
  const what = process.argv[3] ?? '1000';
  const run = { fanout: clusterFanout, churn: clusterChurn, spread: clusterSpread }[what] ?? ((options) => clusterRun({ ...options, users: Number(what) }));
  console.log(JSON.stringify(await run({ binary })));
}
