// Sums twiggy's per-item sizes (CSV from `twiggy top --format csv`) by the crate each item's name starts with, so
// the build report shows what each dependency costs. Generic code is counted where it was instantiated from
// (e.g. `alloc`, `core`), which twiggy cannot attribute further.
import { readFileSync } from 'node:fs';

const [, , csvPath] = process.argv;
const lines = readFileSync(csvPath, 'utf8').trim().split('\n').slice(1);
const byCrate = new Map();
let total = 0;
for (const line of lines) {
  const match = line.match(/^"?(.*?)"?,(\d+),/);
  if (!match) continue;
  const [, name, size] = match;
  if (/function names|custom section|producers/.test(name)) continue;
  const crate = /^data segment/.test(name)
    ? '(static data)'
    : /^(import|export|type|elem|table|global|memory)\b/.test(name)
      ? '(wasm-bindgen imports and exports)'
      : (name.replace(/^[<(&]*(mut )?/, '').match(/^[a-z_][a-z0-9_]*/) ?? ['(other)'])[0];
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + Number(size));
  total += Number(size);
}
const rows = [...byCrate].sort((a, b) => b[1] - a[1]);
const kb = (n) => (n / 1024).toFixed(1).padStart(6) + ' KB';
console.log('wasm by crate (optimised, before gzip)');
for (const [crate, size] of rows.slice(0, 16)) console.log(`  ${crate.padEnd(36)} ${kb(size)}`);
const rest = rows.slice(16).reduce((sum, [, size]) => sum + size, 0);
if (rest) console.log(`  ${'(the rest)'.padEnd(36)} ${kb(rest)}`);
console.log(`  ${'total'.padEnd(36)} ${kb(total)}`);
