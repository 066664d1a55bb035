type UndiciParts = typeof import('./undici-parts.js');

let loading: Promise<UndiciParts> | undefined;

/**
 * undici, imported when the first request is made: loading it costs more than a command that never
 * talks to a registry (`concil list ./dir`) takes to run, and every importer of the package paid it.
 * Through a module of ours, so that a bundler keeps the named exports of the CommonJS package.
 */
export function loadUndici(): Promise<UndiciParts> {
  loading ??= import('./undici-parts.js');
  return loading;
}
