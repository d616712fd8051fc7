// The server's imports go one way (README "Layout"): routes, transport → events → cluster → hub → domain → store.
// A file of one folder of server/src that names `crate::<folder>` of a higher one fails `npm test` with the file,
// the line and the rule; comments (doc links among them) are not imports and are left out. The top-level files
// (lib.rs with AppState, auth, limits, metrics, error, clock, health, main) are outside the layers.
//   node scripts/server-layers.mjs [server/src]
import { join, relative } from 'node:path';
import { lineAt, named, rustFiles, withoutComments } from './rust-imports.mjs';

const LAYERS = { routes: 5, transport: 5, events: 4, cluster: 3, hub: 2, domain: 1, store: 0 };
const root = process.argv[2] ?? new URL('../server/src', import.meta.url).pathname;

const wrong = [];
for (const folder of Object.keys(LAYERS)) {
  for (const file of rustFiles(join(root, folder))) {
    const code = withoutComments(file);
    for (const [at, target] of named(code, 'crate')) {
      if (target in LAYERS && LAYERS[target] > LAYERS[folder]) {
        wrong.push(`${relative(root, file)}:${lineAt(code, at)}: ${folder} names crate::${target}, a layer above it`);
      }
    }
  }
}
if (wrong.length) {
  console.error(`imports against the server's layers (routes, transport → events → cluster → hub → domain → store):\n${wrong.join('\n')}`);
  process.exit(1);
}
console.log(`server layers: ${Object.keys(LAYERS).length} folders, every import goes down`);
