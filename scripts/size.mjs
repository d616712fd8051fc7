// Size report: raw and gzip bytes of what the SDK costs a web app (the wasm, its JS glue and the glue's snippets),
// against the budget. `packageFiles()` is also what `npm run bench` reports as our bundle size.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const BUDGET_GZIP = 64 * 1024;
/** What one more REST method may cost, gzip bytes. */
const METHOD_BUDGET_GZIP = 150;
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

/** Gzip bytes of everything `packageFiles(dir)` lists. */
export function packageGzip(dir = PKG) {
  return packageFiles(dir).reduce((sum, f) => sum + f.gzip, 0);
}

const main = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main && process.argv[2] === '--methods') {
  // `--methods DIR N`: DIR holds the package built with N extra table-driven methods (scripts/size-methods.sh).
  const [dir, count] = [process.argv[3], Number(process.argv[4])];
  const per = (packageGzip(dir) - packageGzip()) / count;
  console.log(`cost per REST method (${count} extra table-driven methods): ${per.toFixed(0)} B gzip   budget ${METHOD_BUDGET_GZIP} B`);
  if (process.argv.includes('--check') && per > METHOD_BUDGET_GZIP) process.exit(1);
} else if (main) {
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
