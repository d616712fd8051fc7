// The glue's guard against traps, in the shipped build only: scripts/guard-traps.mjs appends this to the glue and
// has it wrap the wasm's exports (`wasm = guardTraps(instance.exports)`), so every call into the wasm, from the app,
// a browser callback or the glue itself, goes through it. The first WebAssembly `RuntimeError` (a panic, which the
// shipped build compiles to a bare trap, or any other trap) tells the SDK through its `sdkTrapped` export
// (src/platform/fatal.rs); the error then goes on to the caller as before.
let trapSeen = false;
function guardTraps(exports) {
  const guarded = {};
  for (const name in exports) {
    const value = exports[name];
    guarded[name] = typeof value != 'function' ? value : (...args) => {
      try {
        return value(...args);
      } catch (error) {
        if (!trapSeen && error instanceof WebAssembly.RuntimeError) {
          trapSeen = true;
          sdkTrapped();
        }
        throw error;
      }
    };
  }
  return guarded;
}
