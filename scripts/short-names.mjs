// Shortens the names the wasm and its JS glue share, in both files, after wasm-opt and before terser. wasm-bindgen
// names every import after its Rust item plus a hash (`__wbg_persist_user_on_connection_failure_fb631d87df63db4b`
// becomes `a7`) and every export after its class and method (`streamchat_partialUpdateMessage` becomes `b1x`).
// Those names are in the wasm's import and export sections and again in the glue (import object keys,
// `wasm.<export>` calls), where neither wasm-opt (it minifies only `env` imports) nor terser (it keeps property
// names) shortens them.
// Each old import name must appear exactly once in the glue, as that key, and the glue must reach exports only as
// `wasm.name` (an export's name in a string in it stops the build). A JS module the Rust imports from (a snippet,
// `./snippets/<crate>-<hash>/src/platform/helpers.js`, folded into the glue by inline-snippets.mjs) gets a short
// module name (`s0`) and one key in the glue's import object instead of one per import statement: −244 B gzip.
// `memory` keeps its name: apps read it from what `init()` resolves to. The declaration files (the wasm's, and the
// glue's `InitOutput`) get the new export names. (Renaming the glue's own module, `./stream_chat_wasm_bg.js`, in
// each of its imports measured +340 B gzip: the long name compresses into the repeats around it.)
//   node scripts/short-names.mjs pkg/stream_chat_wasm_bg.wasm pkg/stream_chat_wasm.js
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const GLUE_MODULE = './stream_chat_wasm_bg.js';
/** Where wasm-bindgen puts the JS modules the Rust imports from, each named by its path (~70 bytes). */
const SNIPPETS = './snippets/';
/** Exports an app may use from what `init()` resolves to, which keep their names. */
const KEPT_EXPORTS = new Set(['memory']);
const [wasmPath, gluePath] = process.argv.slice(2);
const wasm = readFileSync(wasmPath);
let glue = readFileSync(gluePath, 'utf8');
const declarationsPath = wasmPath.replace(/\.wasm$/, '.wasm.d.ts');
let declarations = existsSync(declarationsPath) ? readFileSync(declarationsPath, 'utf8') : '';
// The glue's declarations list the exports too, as the `InitOutput` that `init()` resolves to.
const typesPath = gluePath.replace(/\.js$/, '.d.ts');
let types = existsSync(typesPath) ? readFileSync(typesPath, 'utf8') : '';

/** Reads an unsigned LEB128 at `at`: [value, next offset]. */
function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/** An unsigned LEB128 encoding of `value`. */
function encodeLeb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

/** A wasm name: its length, then its UTF-8 bytes. */
const encodeName = (text) => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([encodeLeb(bytes.length), bytes]);
};

/** Reads a name at `at`: [text, next offset]. */
function readName(bytes, at) {
  const [length, start] = leb(bytes, at);
  return [bytes.subarray(start, start + length).toString('utf8'), start + length];
}

/** Skips an import's description (function, table, memory, global or tag) at `at`. */
function skipDescription(bytes, at) {
  const kind = bytes[at++];
  const limits = (from) => {
    const flags = bytes[from++];
    let [, next] = leb(bytes, from);
    if (flags & 1) [, next] = leb(bytes, next);
    return next;
  };
  switch (kind) {
    case 0x00: return leb(bytes, at)[1];
    case 0x01: return limits(at + 1);
    case 0x02: return limits(at);
    case 0x03: return at + 2;
    case 0x04: return leb(bytes, at + 1)[1];
    default: throw new Error(`unknown import kind ${kind}`);
  }
}

/** The import section's body with each glue import renamed, in the wasm and as its key in the glue. */
function shortImports(body) {
  const [count, first] = leb(body, 0);
  const entries = [encodeLeb(count)];
  let cursor = first;
  for (let i = 0; i < count; i++) {
    const [module, afterModule] = readName(body, cursor);
    const [name, afterName] = readName(body, afterModule);
    const descriptionEnd = skipDescription(body, afterName);
    let newName = name;
    let newModule = module;
    if (module.startsWith(SNIPPETS)) {
      if (!snippetModules.has(module)) snippetModules.set(module, `s${snippetModules.size}`);
      newModule = snippetModules.get(module);
    } else if (module === GLUE_MODULE) {
      newName = 'a' + (renamedImports++).toString(36);
      const key = new RegExp(`\\b${name}:`, 'g');
      const found = glue.match(key)?.length ?? 0;
      if (found !== 1 || glue.split(name).length !== 2) {
        throw new Error(`import ${name} is in the glue ${glue.split(name).length - 1} times, not once as a key`);
      }
      glue = glue.replace(key, `${newName}:`);
    }
    entries.push(encodeName(newModule), encodeName(newName), body.subarray(afterName, descriptionEnd));
    cursor = descriptionEnd;
  }
  return Buffer.concat(entries);
}

/** Gives each snippet module its short name in the glue's import object, once: wasm-bindgen writes one key per
 * import statement (`"./snippets/…/helpers.js": import3,` seventeen times over), each a namespace import of the
 * same module. */
function shortSnippetKeys() {
  for (const [module, short] of snippetModules) {
    const quoted = module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const keys = [...glue.matchAll(new RegExp(`["']${quoted}["']\\s*:\\s*(\\w+),?`, 'g'))];
    if (keys.length === 0) throw new Error(`snippet ${module} is not in the glue's import object`);
    for (const [, namespace] of keys) {
      if (!new RegExp(`import \\* as ${namespace} from ["']${quoted}["']`).test(glue)) {
        throw new Error(`${namespace}, the import object's ${module}, is not that module's namespace`);
      }
    }
    let first = true;
    glue = glue.replace(new RegExp(`["']${quoted}["']\\s*:\\s*(\\w+),?`, 'g'), (_, namespace) => {
      const key = first ? `"${short}": ${namespace},` : '';
      first = false;
      return key;
    });
  }
}

/** `js` with its comments blanked (the glue's doc comments may name anything; terser drops them). */
const code = (js) => js.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/^\s*\/\/.*$/gm, ' ');

/** The export section's body with each export the glue calls renamed, in the wasm, at each `wasm.name` in the glue
 * and in both declaration files. */
function shortExports(body) {
  const [count, first] = leb(body, 0);
  const entries = [encodeLeb(count)];
  // Renaming touches only `wasm.name` calls, never a string: the glue's code is read for strings once.
  const glueCode = code(glue);
  let cursor = first;
  for (let i = 0; i < count; i++) {
    const [name, afterName] = readName(body, cursor);
    const [, end] = leb(body, afterName + 1);
    let newName = name;
    const member = new RegExp(`\\bwasm\\.${name}\\b`, 'g');
    if (new RegExp(`["'\`]${name}["'\`]`).test(glueCode)) {
      throw new Error(`export ${name} is named in a string in the glue, which calls exports only as \`wasm.name\``);
    }
    if (!KEPT_EXPORTS.has(name) && glue.match(member)) {
      newName = 'b' + (renamedExports++).toString(36);
      glue = glue.replace(member, `wasm.${newName}`);
      declarations = declarations.replace(new RegExp(`\\bconst ${name}:`), `const ${newName}:`);
      types = types.replace(new RegExp(`\\breadonly ${name}:`), `readonly ${newName}:`);
    }
    entries.push(encodeName(newName), body.subarray(afterName, end));
    cursor = end;
  }
  return Buffer.concat(entries);
}

/** Snippet modules (`#[wasm_bindgen(module = …)]`, folded into the glue later) and their short names. */
const snippetModules = new Map();
let renamedImports = 0;
let renamedExports = 0;
const parts = [wasm.subarray(0, 8)];
let at = 8;
while (at < wasm.length) {
  const id = wasm[at];
  const [size, start] = leb(wasm, at + 1);
  const end = start + size;
  const rewrite = { 2: shortImports, 7: shortExports }[id];
  if (rewrite) {
    const body = rewrite(wasm.subarray(start, end));
    parts.push(Buffer.from([id]), encodeLeb(body.length), body);
  } else {
    parts.push(wasm.subarray(at, end));
  }
  at = end;
}

shortSnippetKeys();
writeFileSync(wasmPath, Buffer.concat(parts));
writeFileSync(gluePath, glue);
if (declarations) writeFileSync(declarationsPath, declarations);
if (types) writeFileSync(typesPath, types);
console.log(`short names: ${renamedImports} imports, ${renamedExports} exports and ${snippetModules.size} snippet modules renamed`);
