import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryError } from '../errors.js';
import { concilConfigCredentials, dockerConfigCredentials } from './config-sources.js';
import { credentialFile, removeCredentials, saveCredentials } from './credential-store.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'concil-login-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

const alice = { username: 'alice', password: 'wonder:land' };
const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

describe('saveCredentials and removeCredentials', () => {
  it('creates concil config private to its owner, in the form the readers decode', async () => {
    const file = credentialFile('concil', { homeDir: home, env: {} });
    expect(file.path).toBe(join(home, '.concil', 'config.json'));
    expect(await saveCredentials(file, 'https://Registry.example.com:5000/', alice)).toBe(
      'registry.example.com:5000',
    );
    expect(await readJson(file.path)).toEqual({
      auths: { 'registry.example.com:5000': { auth: Buffer.from('alice:wonder:land').toString('base64') } },
    });
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, '.concil'))).mode & 0o777).toBe(0o700);
    const read = concilConfigCredentials({ homeDir: home, env: {} });
    expect(await read({ registry: 'registry.example.com:5000', repository: 'x' })).toEqual(alice);
  });

  it('keeps every other key, replaces other spellings of the same server, and tightens the mode', async () => {
    const path = join(home, 'config.json');
    const before = {
      cache_dir: '~/cache',
      remote_servers: { 'r.example': { registry: 'https://r.example' } },
      auths: {
        'https://r.example': 'b2xkOm9sZA==',
        'r.example/team': { auth: 'dGVhbTp0ZWFt' },
        'other.example': { auth: 'eDp5' },
      },
      unknown: [1, 2],
    };
    await writeFile(path, JSON.stringify(before), { mode: 0o644 });
    const file = credentialFile('concil', { homeDir: home, env: { CONCIL_CONFIG: path } });
    expect(file.path).toBe(path);
    await saveCredentials(file, 'r.example', alice);
    expect(await readJson(path)).toEqual({
      ...before,
      auths: {
        'r.example/team': { auth: 'dGVhbTp0ZWFt' },
        'other.example': { auth: 'eDp5' },
        'r.example': { auth: Buffer.from('alice:wonder:land').toString('base64') },
      },
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    expect(await removeCredentials(file, 'docker://r.example')).toEqual(['r.example']);
    expect((await readJson(path)).auths).toEqual({
      'r.example/team': { auth: 'dGVhbTp0ZWFt' },
      'other.example': { auth: 'eDp5' },
    });
    expect(await removeCredentials(file, 'r.example')).toEqual([]);
  });

  it("keys Docker Hub as docker login does in docker's config, and docker's reader finds it", async () => {
    const file = credentialFile('docker', { homeDir: home, env: { DOCKER_CONFIG: join(home, 'd') } });
    expect(file.path).toBe(join(home, 'd', 'config.json'));
    expect(await saveCredentials(file, 'index.docker.io', alice)).toBe('https://index.docker.io/v1/');
    const read = dockerConfigCredentials({ homeDir: home, env: { DOCKER_CONFIG: join(home, 'd') } });
    expect(await read({ registry: 'docker.io' })).toEqual(alice);
    expect(await removeCredentials(file, 'docker.io')).toEqual(['https://index.docker.io/v1/']);
    expect(await readJson(file.path)).toEqual({ auths: {} });
  });

  it('leaves a file it cannot read as it was (CONFIG_INVALID)', async () => {
    const path = join(home, 'config.json');
    for (const text of ['{"auths": ', '{"auths": ["x"]}']) {
      await writeFile(path, text);
      const file = credentialFile('concil', { env: { CONCIL_CONFIG: path } });
      const error = await saveCredentials(file, 'r.example', alice).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', reference: path });
      expect(await readFile(path, 'utf8')).toBe(text);
    }
  });

  it('does not create a file to remove nothing from', async () => {
    const file = credentialFile('concil', { homeDir: home, env: {} });
    expect(await removeCredentials(file, 'r.example')).toEqual([]);
    await expect(stat(file.path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
