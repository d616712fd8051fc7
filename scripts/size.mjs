// Size report: raw and gzip bytes of what the SDK costs a web app (the wasm, its JS glue and the glue's snippets),
// against the budget. `packageFiles()` is also what `npm run bench` reports as our bundle size.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const BUDGET_GZIP = 64 * 1024;
const PKG = new URL('../pkg/', import.meta.url).pathname;

/** The package's shipped code (wasm and JS, `snippets/` included), each with its raw and gzip bytes. */
export function packageFiles(dir = PKG) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.wasm') || (f.endsWith('.js') && !f.endsWith('.d.js')))
    .sort()
    .map((file) => {
      const bytes = readFileSync(join(dir, file));
      return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kb = (n) => (n / 1024).toFixed(1).padStart(6) + ' KB';
  const files = packageFiles();
  const raw = files.reduce((sum, f) => sum + f.raw, 0);
  const gzip = files.reduce((sum, f) => sum + f.gzip, 0);
  console.log('size report (pkg/)              raw       gzip');
  for (const f of files) console.log(`  ${f.file.padEnd(28)} ${kb(f.raw)} ${kb(f.gzip)}`);
  console.log(`  ${'total (wasm + glue)'.padEnd(28)} ${kb(raw)} ${kb(gzip)}   budget ${kb(BUDGET_GZIP).trim()} gzip`);
  if (process.argv.includes('--check') && gzip > BUDGET_GZIP) {
    console.error(`over budget by ${kb(gzip - BUDGET_GZIP).trim()}`);
    process.exit(1);
  }
}
