#!/usr/bin/env -S node --max-semi-space-size=2
// The concil command as installed and as ./concil runs it.
// A small young generation: network reads leave many short-lived buffers, and a copy of 1 GB
// otherwise holds ~200 MiB of them before a collection (same speed, 30% less memory). A heap
// size flag leaves V8's code caches valid; a flag that changes code generation would not (see
// baseline-wasm.ts, which keeps undici's wasm parser in baseline code from its first connection).
// Node's compile cache (in the OS's temporary directory, keyed by the content of each file) saves
// compiling the bundle on every start; it is turned on before main.js and its chunks load. Where
// the directory cannot be written, Node runs without it.
import { enableCompileCache } from 'node:module';
import { keepWasmBaseline } from './baseline-wasm.js';

keepWasmBaseline();
enableCompileCache?.();
await import('./main.js');
