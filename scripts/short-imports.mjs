// Shortens the names of the wasm's imports from its JS glue (`__wbg_persist_user_on_connection_failure_fb631d87df63db4b`
// becomes `a7`) in both files, after wasm-opt and before terser: wasm-bindgen names every import after its Rust
// item plus a hash, and those names are in the wasm's import section and again as keys of the glue's import object,
// where neither wasm-opt (it minifies only `env` imports) nor terser (it keeps property names) shortens them.
// Each old name must appear exactly once in the glue, as that key; anything else stops the build.
//   node scripts/short-imports.mjs pkg/stream_chat_wasm_bg.wasm pkg/stream_chat_wasm.js
import { readFileSync, writeFileSync } from 'node:fs';

const GLUE_MODULE = './stream_chat_wasm_bg.js';
const [wasmPath, gluePath] = process.argv.slice(2);
const wasm = readFileSync(wasmPath);
let glue = readFileSync(gluePath, 'utf8');

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

const parts = [wasm.subarray(0, 8)];
let at = 8;
let renamed = 0;
while (at < wasm.length) {
  const id = wasm[at];
  const [size, start] = leb(wasm, at + 1);
  const end = start + size;
  if (id !== 2) {
    parts.push(wasm.subarray(at, end));
    at = end;
    continue;
  }
  const [count, first] = leb(wasm, start);
  const entries = [encodeLeb(count)];
  let cursor = first;
  for (let i = 0; i < count; i++) {
    const [module, afterModule] = readName(wasm, cursor);
    const [name, afterName] = readName(wasm, afterModule);
    const descriptionEnd = skipDescription(wasm, afterName);
    let newName = name;
    if (module === GLUE_MODULE) {
      newName = 'a' + (renamed++).toString(36);
      const key = new RegExp(`\\b${name}:`, 'g');
      const found = glue.match(key)?.length ?? 0;
      if (found !== 1 || glue.split(name).length !== 2) {
        throw new Error(`import ${name} is in the glue ${glue.split(name).length - 1} times, not once as a key`);
      }
      glue = glue.replace(key, `${newName}:`);
    }
    entries.push(encodeName(module), encodeName(newName), wasm.subarray(afterName, descriptionEnd));
    cursor = descriptionEnd;
  }
  const body = Buffer.concat(entries);
  parts.push(Buffer.from([2]), encodeLeb(body.length), body);
  at = end;
}

writeFileSync(wasmPath, Buffer.concat(parts));
writeFileSync(gluePath, glue);
console.log(`short import names: ${renamed} imports renamed`);
