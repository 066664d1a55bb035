#!/usr/bin/env -S node --max-semi-space-size=2 --liftoff-only
// The concil command as installed and as ./concil runs it.
// A small young generation: network reads leave many short-lived buffers, and a copy of 1 GB
// otherwise holds ~200 MiB of them before a collection (same speed, 30% less memory).
// WebAssembly stays baseline code: undici's HTTP parser is wasm, and optimizing its hot parse
// function leaves ~9 MiB in a compiler thread's malloc arena for good; parsing blob headers and
// handing on body spans is no slower without it.
// Node's compile cache (in the OS's temporary directory, keyed by the content of each file) saves
// compiling the bundle on every start; it is turned on before main.js and its chunks load. Where
// the directory cannot be written, Node runs without it.
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
await import('./main.js');
