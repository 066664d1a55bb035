import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** Published by undici before a client opens a connection: before it compiles its HTTP parser. */
const BEFORE_CONNECT = 'undici:client:beforeConnect';

/**
 * Keeps WebAssembly in baseline code (Liftoff), set when undici opens its first connection.
 *
 * undici's HTTP parser is wasm. V8 optimizes its hot functions with TurboFan in a background
 * thread: for a command as short as `list docker://…` that costs more than the command itself
 * (~0.25 G instructions), and in a long copy it leaves ~9 MiB in a compiler thread's malloc arena
 * for good, while parsing headers and handing on body spans is no slower in baseline code.
 *
 * Not on the command line (`--liftoff-only`): V8 refuses Node's built-in code cache once a flag
 * that changes code generation is set, so every built-in module loaded after it is compiled from
 * source (~50 M instructions for `--help` alone). Set at run time, `--liftoff-only` does not turn
 * off tier-up by implication as it does on the command line: its companions are named too.
 */
export function keepWasmBaseline(): void {
  const setFlags = () => {
    unsubscribe(BEFORE_CONNECT, setFlags);
    process
      .getBuiltinModule('node:v8')
      .setFlagsFromString('--liftoff-only --no-wasm-tier-up --no-wasm-dynamic-tiering');
  };
  subscribe(BEFORE_CONNECT, setFlags);
}
