// Size report: raw and gzip bytes of what the SDK costs a web app (the wasm and its JS glue), against the budget.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET_GZIP = 64 * 1024;
const dir = new URL('../pkg/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.wasm') || (f.endsWith('.js') && !f.endsWith('.d.js')));
let raw = 0;
let gzip = 0;
const kb = (n) => (n / 1024).toFixed(1).padStart(6) + ' KB';
console.log('size report (pkg/)              raw       gzip');
for (const file of files.sort()) {
  const bytes = readFileSync(join(dir, file));
  const zipped = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gzip += zipped;
  console.log(`  ${file.padEnd(28)} ${kb(bytes.length)} ${kb(zipped)}`);
}
console.log(`  ${'total (wasm + glue)'.padEnd(28)} ${kb(raw)} ${kb(gzip)}   budget ${kb(BUDGET_GZIP).trim()} gzip`);
if (process.argv.includes('--check') && gzip > BUDGET_GZIP) {
  console.error(`over budget by ${kb(gzip - BUDGET_GZIP).trim()}`);
  process.exit(1);
}
