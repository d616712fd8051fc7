// The server's imports go one way (README "Layout"): routes, transport → events → cluster → hub → domain → store.
// A file of one folder of server/src that names `crate::<folder>` of a higher one fails `npm test` with the file,
// the line and the rule; comments (doc links among them) are not imports and are left out. The top-level files
// (lib.rs with AppState, auth, limits, metrics, error, clock, health, main) are outside the layers.
//   node scripts/server-layers.mjs [server/src]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const LAYERS = { routes: 5, transport: 5, events: 4, cluster: 3, hub: 2, domain: 1, store: 0 };
const root = process.argv[2] ?? new URL('../server/src', import.meta.url).pathname;

/** Every `.rs` file below `dir`. */
function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return name.endsWith('.rs') ? [path] : [];
  });
}

const wrong = [];
for (const folder of Object.keys(LAYERS)) {
  for (const file of files(join(root, folder))) {
    // Comments blanked out (their length kept, so offsets still give lines).
    const code = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, (comment) => ' '.repeat(comment.length));
    const named = [];
    for (const match of code.matchAll(/crate::(\w+)/g)) named.push([match.index, match[1]]);
    for (const match of code.matchAll(/crate::\{([^}]*)\}/g)) {
      for (const item of match[1].split(',')) named.push([match.index, item.trim().split('::')[0]]);
    }
    for (const [at, target] of named) {
      if (target in LAYERS && LAYERS[target] > LAYERS[folder]) {
        const line = code.slice(0, at).split('\n').length;
        wrong.push(`${relative(root, file)}:${line}: ${folder} names crate::${target}, a layer above it`);
      }
    }
  }
}
if (wrong.length) {
  console.error(`imports against the server's layers (routes, transport → events → cluster → hub → domain → store):\n${wrong.join('\n')}`);
  process.exit(1);
}
console.log(`server layers: ${Object.keys(LAYERS).length} folders, every import goes down`);
