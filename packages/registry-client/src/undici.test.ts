import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** What importing `specifier` in a fresh Node process loads of undici. */
async function undiciLoadedBy(specifier: string): Promise<{ fetch: boolean; bundled: boolean }> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(specifier)});
    const files = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      fetch: files.some((file) => file.includes('/undici/lib/web/fetch/')),
      bundled: process.moduleLoadList.includes('NativeModule internal/deps/undici/undici'),
    }));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
  });
  return JSON.parse(stdout);
}

describe('the undici parts the client loads', () => {
  it("load neither undici's fetch nor Node's bundled copy of undici", async () => {
    expect(await undiciLoadedBy(pathToFileURL(join(import.meta.dirname, 'undici.ts')).href)).toEqual({
      fetch: false,
      bundled: false,
    });
  });

  it("are what undici's index would load in full", async () => {
    expect(await undiciLoadedBy('undici')).toEqual({ fetch: true, bundled: true });
  });
});
