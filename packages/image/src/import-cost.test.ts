import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The bare specifiers (packages) that `import('@concil/image')` resolves, in a fresh process: what
 * every program that reads images pays for at start.
 */
async function packagesLoadedByImport(): Promise<string[]> {
  const script = `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (!/^(node:|\\.|\\/|file:)/.test(specifier)) seen.add(specifier);
    return nextResolve(specifier, context);
  },
});
await import('@concil/image');
console.log(JSON.stringify([...seen]));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: import.meta.dirname,
  });
  return JSON.parse(stdout);
}

describe('importing @concil/image', () => {
  it('loads neither the squashfs package nor jose: the functions that convert, read layers or wrap keys import them', async () => {
    const loaded = await packagesLoadedByImport();
    expect(loaded).toContain('@concil/oci-spec');
    expect(loaded).not.toContain('@concil/squashfs');
    expect(loaded).not.toContain('jose');
  });
});
