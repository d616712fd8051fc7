// Guards the glue against traps (src/platform/trap_guard.js, appended to it): the wasm's exports are reached through
// `guardTraps(instance.exports)`, so the first trap of any call into the wasm tells the SDK (src/platform/fatal.rs:
// the shipped build has no panic hook) through its glue function `sdkTrapped`, which stays the glue's own: no longer a
// module export an app would see.
//   node scripts/guard-traps.mjs pkg/stream_chat_wasm.js
import { readFileSync, writeFileSync } from 'node:fs';

const gluePath = process.argv[2];
let glue = readFileSync(gluePath, 'utf8');
const exportsTaken = /\bwasm = instance\.exports;/g;
const found = glue.match(exportsTaken)?.length ?? 0;
if (found !== 1) throw new Error(`the glue takes the wasm's exports ${found} times, not once: where is the guard to go?`);
glue = glue.replace(exportsTaken, 'wasm = guardTraps(instance.exports);');
const told = /^export function sdkTrapped\(/m;
if (!told.test(glue)) throw new Error('the glue has no sdkTrapped export for the guard to call');
glue = glue.replace(told, 'function sdkTrapped(');
const guard = readFileSync(new URL('../src/platform/trap_guard.js', import.meta.url), 'utf8');
writeFileSync(gluePath, `${glue}\n${guard}`);
console.log('trap guard: added to the glue');
