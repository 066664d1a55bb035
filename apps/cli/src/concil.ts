#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1
// The concil command as installed and as ./concil runs it.
// A small young generation: network reads leave many short-lived buffers, and a copy of 1 GB
// otherwise holds ~200 MiB of them before a collection (same speed, 30% less memory).
// One V8 worker thread, not four: each kept its own malloc arena of the optimizing compiler's
// memory (~1.5 MiB apiece at the peak of a 1 GB copy); a command's small heap needs no more.
// Heap and thread flags leave V8's code caches valid; a flag that changes code generation would
// not (see baseline-wasm.ts, which keeps undici's wasm parser in baseline code from its first
// connection: optimizing it left ~9 MiB in a compiler thread's malloc arena for good).
// Node's compile cache (in the OS's temporary directory, keyed by the content of each file) saves
// compiling the bundle on every start; it is turned on before main.js and its chunks load. Where
// the directory cannot be written, Node runs without it.
import { enableCompileCache } from 'node:module';
import { keepWasmBaseline } from './baseline-wasm.js';
import { builtHelpText } from './help-text.js';

const help = builtHelpText(process.argv.slice(2));
if (help !== undefined) {
  process.stdout.write(help);
} else {
  keepWasmBaseline();
  enableCompileCache?.();
  await import('./main.js');
}
