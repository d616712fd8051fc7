// Folds the glue's `inline_js` snippets (pkg/snippets/*/inline*.js) into the glue itself, before terser, and
// removes them: each snippet is one more module a browser fetches after parsing the glue (with a cold cache, a
// second round trip before the wasm can even be asked for). Each snippet becomes a closure at the top of the glue
// returning its exports, and every `import … from "./snippets/…"` a `const` over it: the same functions, evaluated
// in the same order (a module's imports run before its body). A snippet may only export `function`s; anything
// else stops the build.
//   node scripts/inline-snippets.mjs pkg
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const gluePath = join(dir, 'stream_chat_wasm.js');
let glue = readFileSync(gluePath, 'utf8');
const snippetsDir = join(dir, 'snippets');
if (!existsSync(snippetsDir)) {
  console.log('inline snippets: none');
  process.exit(0);
}

const namespaces = [];
let count = 0;
for (const file of readdirSync(snippetsDir, { recursive: true }).map(String).filter((f) => f.endsWith('.js')).sort()) {
  const path = `./snippets/${file}`;
  let source = readFileSync(join(snippetsDir, file), 'utf8');
  const names = [...source.matchAll(/^export function (\w+)/gm)].map((m) => m[1]);
  source = source.replace(/^export function /gm, 'function ');
  if (/\bexport\b/.test(source)) throw new Error(`${path}: only \`export function\` can be inlined`);
  const namespace = `__snippet${count++}`;
  namespaces.push(`const ${namespace} = (() => {\n${source}\nreturn { ${names.join(', ')} };\n})();`);
  const quoted = `["']${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']`;
  // `import * as name from "path";`
  glue = glue.replace(new RegExp(`import \\* as (\\w+) from ${quoted};?`, 'g'), `const $1 = ${namespace};`);
  // `import { a, b as c } from "path";`
  glue = glue.replace(new RegExp(`import \\{([^}]*)\\} from ${quoted};?`, 'g'), (_, list) =>
    `const {${list.replace(/(\w+) as (\w+)/g, '$1: $2')}} = ${namespace};`);
  // The import object's keys name the module; they stay (the wasm's import section names it too).
}
if (/from\s*["']\.\/snippets\//.test(glue)) throw new Error('an import of a snippet was left in the glue');
// At the top, where the imports were; a leading `@ts-self-types` comment stays first.
const header = glue.match(/^\/\* @ts-self-types=[^\n]*\n/)?.[0] ?? '';
writeFileSync(gluePath, header + namespaces.join('\n') + '\n' + glue.slice(header.length));
rmSync(snippetsDir, { recursive: true });
console.log(`inline snippets: ${count} folded into the glue`);
