// Shared by the end-to-end tests: a real server process (the debug build of server/) on a loopback port with a
// real SQLite file, HS256 tokens signed like a backend would, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = new URL('../../', import.meta.url).pathname;
const SERVER_BIN = join(ROOT, 'target/debug/stream-chat-server');

/** A temp folder removed by `cleanup()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'stream-chat-e2e-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts the server and resolves once it listens. `port: 0` picks a free port; a fixed port is retried until
 * free (a killed server's port can take a moment to be released).
 */
export async function startServer({ dev = true, port = 0, db, apiKey, secret, deadlineMs = 20_000 } = {}) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await spawnServer({ dev, port, db, apiKey, secret });
    } catch (error) {
      if (Date.now() > deadline || !/in use/i.test(String(error.message))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function spawnServer({ dev, port, db, apiKey, secret }) {
  const args = ['--port', String(port), '--db', db, '--www', join(ROOT, 'www'), '--pkg', join(ROOT, 'pkg')];
  if (dev) args.push('--dev');
  if (apiKey) args.push('--api-key', apiKey);
  if (secret) args.push('--api-secret', secret);
  const child = spawn(SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = stdout.match(/listening on (http:\/\/[0-9.]+:(\d+))/);
      if (match) {
        resolve({
          url: match[1],
          port: Number(match[2]),
          process: child,
          /** Graceful stop (SIGTERM), resolved when the process has exited. */
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
          /** `kill -9`, resolved when the process has exited. */
          kill: async () => {
            child.kill('SIGKILL');
            return exited;
          },
        });
      }
    });
    exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
}

/** An HS256 JWT signed with `secret`, base64url-encoded like common JWT libraries do. */
export function signToken(claims, secret) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

/** Debian's Chromium, headless, with the flags that keep it off the network (shared/TOOLCHAIN.md). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The value of a metric series from `/metrics`. */
export async function metric(url, series) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  if (!line) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}
