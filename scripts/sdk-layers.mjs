// The SDK's imports go one way (README "Layout"): js → api → runtime → state → platform → client (the sans-I/O
// core). `npm test` fails, with the file, the line and the rule, on
// - a file of one folder of src/ that names `crate::<folder>` of a higher one (`super::` inside a folder is fine);
// - a circle among the files of a folder: `super::<file>` / `crate::<folder>::<file>` names, followed file to file.
// Comments (doc links among them) are not imports and are left out. lib.rs is the root and outside the layers.
//   node scripts/sdk-layers.mjs [src]
import { basename, join, relative } from 'node:path';
import { lineAt, named, rustFiles, withoutComments } from './rust-imports.mjs';

const LAYERS = { js: 5, api: 4, runtime: 3, state: 2, platform: 1, client: 0 };
const root = process.argv[2] ?? new URL('../src', import.meta.url).pathname;

const wrong = [];
/** Per folder: file name → [file name it names, line]. */
const edges = {};
for (const folder of Object.keys(LAYERS)) {
  edges[folder] = {};
  for (const file of rustFiles(join(root, folder))) {
    const text = withoutComments(file);
    // Files of the same folder, as `super::x` from a file directly in it.
    const own = relative(join(root, folder), file).split('/').length === 1;
    const name = basename(file, '.rs');
    edges[folder][name] ??= [];
    if (own) {
      for (const [at, module] of named(text, 'super')) edges[folder][name].push([module, lineAt(text, at)]);
    }
    for (const [at, target, module] of named(text, 'crate')) {
      if (target in LAYERS && LAYERS[target] > LAYERS[folder]) {
        wrong.push(`${relative(root, file)}:${lineAt(text, at)}: ${folder} names crate::${target}, a layer above it`);
      }
      if (target === folder && own && module) edges[folder][name].push([module, lineAt(text, at)]);
    }
  }
}

// A circle among a folder's files: depth-first search, reporting each circle once by its smallest file.
const circles = new Set();
for (const [folder, graph] of Object.entries(edges)) {
  const visit = (path) => {
    const here = path[path.length - 1];
    for (const [next] of graph[here] ?? []) {
      if (!(next in graph) || next === here) continue;
      const at = path.indexOf(next);
      if (at >= 0) {
        const loop = path.slice(at);
        const start = loop.indexOf([...loop].sort()[0]);
        circles.add(`${folder}: ${[...loop.slice(start), ...loop.slice(0, start), loop[start]].join(' → ')}`);
      } else if (path.length < 40) {
        visit([...path, next]);
      }
    }
  };
  for (const name of Object.keys(graph)) visit([name]);
}
for (const circle of circles) wrong.push(`import circle in ${circle}`);

if (wrong.length) {
  console.error(`imports against the SDK's layers (js → api → runtime → state → platform → client, no circle):\n${wrong.join('\n')}`);
  process.exit(1);
}
console.log(`SDK layers: ${Object.keys(LAYERS).length} folders, every import goes down, no circle`);
