// A cluster on one machine for the end-to-end tests, all of it real processes: a throwaway PostgreSQL
// (scripts/postgres.sh), Debian's nats-server, server nodes on PostgreSQL and NATS, and Debian's nginx as the load
// balancer. nginx routes a request that names a connection (`connection_id=<node>-…`) to that node, and anything
// else round robin, skipping a node that is down (README "Run a cluster").
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, signToken, startNginx, startServer, until } from './helpers.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
export const KEY = 'cluster-key';
export const SECRET = 'cluster-secret';

export { until };

/** A PostgreSQL server in a new data directory; `url` names its `postgres` database. */
export function startPostgres() {
  const parent = mkdtempSync(join(tmpdir(), 'stream-chat-pg-'));
  const dir = join(parent, 'data');
  const base = execFileSync('bash', [join(ROOT, 'scripts/postgres.sh'), 'start', dir], { encoding: 'utf8' }).trim();
  return {
    url: `${base}/postgres`,
    stop: () => {
      execFileSync('bash', [join(ROOT, 'scripts/postgres.sh'), 'stop', dir]);
      rmSync(parent, { recursive: true, force: true });
    },
  };
}

/** nats-server on `port` (a free one when unset); resolves once it accepts connections. With `monitor`, its HTTP
 * monitoring (`/connz`, `/varz`, `/routez`) answers at `monitorUrl`; `maxPayload` lowers the largest message it
 * accepts (1 MB by default); with `cluster` it is a server of a NATS cluster, taking routes at `clusterUrl` and
 * connecting to `cluster.routes`, which `setRoutes` changes as a configuration reload (SIGHUP) does. */
export async function startNats(port, { monitor = false, maxPayload, cluster } = {}) {
  port ??= await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  let monitorUrl, configDir, clusterUrl;
  const lines = [`listen: "127.0.0.1:${port}"`];
  if (monitor) {
    const httpPort = await freePort();
    lines.push(`http: "127.0.0.1:${httpPort}"`);
    monitorUrl = `http://127.0.0.1:${httpPort}`;
  }
  if (maxPayload) lines.push(`max_payload: ${maxPayload}`);
  if (cluster) clusterUrl = `nats-route://127.0.0.1:${await freePort()}`;
  const config = (routes) => [...lines, ...(cluster ? [
    `cluster { name: "chat", listen: "${clusterUrl.slice('nats-route://'.length)}", routes: ${JSON.stringify(routes)} }`,
  ] : [])].join('\n');
  if (monitor || maxPayload || cluster) {
    configDir = mkdtempSync(join(tmpdir(), 'stream-chat-nats-'));
    writeFileSync(join(configDir, 'nats.conf'), `${config(cluster?.routes ?? [])}\n`);
    args.splice(0, args.length, '-c', join(configDir, 'nats.conf'));
  }
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((path) => {
    try {
      execFileSync('test', ['-x', path]);
      return true;
    } catch {
      return false;
    }
  }) ?? 'nats-server';
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await until(() => stderr.includes('Server is ready') || child.exitCode !== null, 'nats-server to start');
  if (child.exitCode !== null) throw new Error(`nats-server did not start: ${stderr}`);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl,
    clusterUrl,
    /** Routes to other servers now, from its monitoring. */
    routes: async () => (await (await fetch(`${monitorUrl}/routez`)).json()).num_routes,
    setRoutes: (routes) => {
      writeFileSync(join(configDir, 'nats.conf'), `${config(routes)}\n`);
      child.kill('SIGHUP');
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    },
  };
}

/** A server node `id` on `db` and `bus`, on `port` (free when unset). */
export function startNode(id, { db, bus, port = 0 }) {
  return startServer({
    dev: false, port, db, apiKey: KEY, secret: SECRET, args: ['--node-id', id, '--bus', bus],
  });
}

/** nginx balancing `nodes` (`{id, port}`), routing by connection id; resolves once it answers. */
export async function startBalancer(nodes) {
  const dir = mkdtempSync(join(tmpdir(), 'stream-chat-lb-'));
  const port = await freePort();
  const routes = nodes.map((node) => `~^${node.id}- node_${node.id};`).join(' ');
  const upstreams = nodes.map((node) => `upstream node_${node.id} { server 127.0.0.1:${node.port}; }`).join('\n');
  const all = nodes.map((node) => `server 127.0.0.1:${node.port} max_fails=1 fail_timeout=5s;`).join(' ');
  const http = `
    map $arg_connection_id $chat_upstream { ${routes} default nodes; }
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    upstream nodes { ${all} }
    ${upstreams}
    server {
      listen 127.0.0.1:${port};
      location / {
        proxy_pass http://$chat_upstream;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $http_host;
        client_max_body_size 21m;
        proxy_connect_timeout 2s;
        proxy_read_timeout 60s;
        proxy_next_upstream error timeout;
      }
    }`;
  return startNginx(dir, port, http, '/healthz');
}

/** The node a connection id belongs to. */
export function nodeOf(connectionId) {
  return connectionId?.split('-')[0];
}

/** The `/connect` URL of the server at `url` for user `id` (JWT-signed with the cluster's secret). */
export function connectUrl(url, id) {
  const json = encodeURIComponent(JSON.stringify({ user_id: id, user_details: { id } }));
  const token = signToken({ user_id: id }, SECRET);
  return `${url.replace('http', 'ws')}/connect?json=${json}&api_key=${KEY}&authorization=${token}&stream-auth-type=jwt`;
}

/** Opens a bare WebSocket to the server at `url` for each of `ids` (JWT-signed, 200 at once); resolves with them
 * once each has had its first frame (`health.check`), rejecting if any is refused. */
export async function connectMany(url, ids) {
  const { default: WebSocket } = await import('ws');
  const sockets = [];
  for (let at = 0; at < ids.length; at += 200) {
    await Promise.all(ids.slice(at, at + 200).map((id) => new Promise((resolve, reject) => {
      const socket = new WebSocket(connectUrl(url, id));
      sockets.push(socket);
      socket.onmessage = (event) => {
        const frame = JSON.parse(event.data);
        if (frame.type === 'health.check') resolve();
        else reject(new Error(`${id}: ${event.data}`));
      };
      socket.onerror = () => reject(new Error(`${id}: socket error`));
    })));
  }
  return sockets;
}
