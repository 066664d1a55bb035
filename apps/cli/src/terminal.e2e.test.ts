import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, type ProxiedImage, startProxiedImage, USER } from './test/proxied-image.js';
import { runInTerminal } from './test/run-in-terminal.js';

let setup: ProxiedImage;
let image: string;

beforeAll(async () => {
  setup = await startProxiedImage('oci');
  image = `docker://${setup.registry.host}/app:1`;
}, 120_000);

afterAll(() => setup?.stop());

const login = [
  { when: /Username for 127\.0\.0\.1:\d+: /, type: `${USER}\r` },
  { when: new RegExp(`Password for ${USER}@127\\.0\\.0\\.1:\\d+: `), type: `${PASSWORD}\r` },
];

describe('concil on a terminal, with a registry that wants a password no file has', () => {
  it('asks for the username and a hidden password, then lists the image', async () => {
    const { code, screen } = await runInTerminal(['list', image], login);
    expect(code).toBe(0);
    expect(screen).toMatch(/Username for 127\.0\.0\.1:\d+: tester/);
    expect(screen).toMatch(/^os: +linux\r?$/m);
    expect(screen).not.toContain(PASSWORD);
  });

  it('asks once and shows the progress of a copy in sensible units', async () => {
    const dir = join(setup.work, 'copied');
    const { code, screen } = await runInTerminal(['copy', image, dir], login);
    expect(code).toBe(0);
    expect(screen.match(/Username for/g)).toHaveLength(1);
    expect(screen).not.toContain(PASSWORD);
    // The fixture's blobs are a few hundred bytes each: shown in bytes, never as "0/0 MB".
    expect(screen).toMatch(/100% \| 876 B\/876 B/);
    expect(screen).not.toMatch(/\b0\/0 MB/);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).layers).toHaveLength(2);
  });

  it('asks once for a copy between two repositories of that registry', async () => {
    const destination = `docker://${setup.registry.host}/copied:2`;
    const { code, screen } = await runInTerminal(['copy', '--no-cache', image, destination], login);
    expect(code).toBe(0);
    expect(screen.match(/Username for/g)).toHaveLength(1);
    expect(screen).toContain(`to ${destination}: 0 blobs`);
  });
});
