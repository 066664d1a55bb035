import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  concilConfigCredentials,
  containersAuthCredentials,
  defaultCredentialProvider,
  dockerConfigCredentials,
} from './config-sources.js';

let dir: string;
const b64 = (text: string) => Buffer.from(text).toString('base64');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concil-creds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeJson(path: string, value: unknown): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify(value));
  return path;
}

describe('concil config auths', () => {
  it('matches host and host/prefix keys, the longest prefix winning', async () => {
    const home = join(dir, 'concil-home');
    await writeJson(join(home, '.concil', 'config.json'), {
      auths: {
        'registry.example:5000': { auth: b64('host-user:host-pass') },
        'registry.example:5000/team': { auth: b64('team-user:team:pass') },
        'registry.example:5000/team/special': { auth: b64('special:s3cret') },
        'other.example': { auth: b64('other:pw') },
      },
    });
    const provider = concilConfigCredentials({ homeDir: home, env: {} });
    const registry = 'registry.example:5000';
    expect(await provider({ registry, repository: 'library/app' })).toEqual({
      username: 'host-user',
      password: 'host-pass',
    });
    expect(await provider({ registry, repository: 'team/app' })).toEqual({
      username: 'team-user',
      password: 'team:pass',
    });
    expect(await provider({ registry, repository: 'team/special/app' })).toEqual({
      username: 'special',
      password: 's3cret',
    });
    // a prefix only matches whole path components
    expect(await provider({ registry, repository: 'teamwork/app' })).toEqual({
      username: 'host-user',
      password: 'host-pass',
    });
    expect(await provider({ registry: 'unknown.example', repository: 'x' })).toBeUndefined();
  });

  it('reads the file named by CONCIL_CONFIG instead', async () => {
    const path = await writeJson(join(dir, 'elsewhere', 'concil.json'), {
      auths: { 'reg.example': { auth: b64('env-user:env-pass') } },
    });
    const provider = concilConfigCredentials({ homeDir: join(dir, 'no-home'), env: { CONCIL_CONFIG: path } });
    expect(await provider({ registry: 'reg.example', repository: 'a/b' })).toEqual({
      username: 'env-user',
      password: 'env-pass',
    });
  });

  it('expands a leading ~ in CONCIL_CONFIG to the home directory, as the store does', async () => {
    await writeJson(join(dir, 'tilde-home', 'conf', 'concil.json'), {
      auths: { 'reg.example': { auth: b64('tilde-user:tilde-pass') } },
    });
    const provider = concilConfigCredentials({
      homeDir: join(dir, 'tilde-home'),
      env: { CONCIL_CONFIG: '~/conf/concil.json' },
    });
    expect(await provider({ registry: 'reg.example', repository: 'a' })).toEqual({
      username: 'tilde-user',
      password: 'tilde-pass',
    });
  });

  it('reads a file the Python concil wrote: base64 strings, host keys without the port', async () => {
    const path = await writeJson(join(dir, 'python', 'config.json'), {
      auths: { 'registry.example': b64('user:pass'), 'registry.example/team/*': b64('team:pw') },
    });
    const provider = concilConfigCredentials({ env: { CONCIL_CONFIG: path } });
    expect(await provider({ registry: 'registry.example:5000', repository: 'x' })).toEqual({
      username: 'user',
      password: 'pass',
    });
    expect(await provider({ registry: 'registry.example', repository: 'team/app' })).toEqual({
      username: 'team',
      password: 'pw',
    });
    // docker's file keeps docker's rule: the port is part of the key
    const docker = join(dir, 'python-docker');
    await writeJson(join(docker, 'config.json'), { auths: { 'registry.example': b64('user:pass') } });
    const dockerProvider = dockerConfigCredentials({ env: { DOCKER_CONFIG: docker } });
    expect(await dockerProvider({ registry: 'registry.example:5000' })).toBeUndefined();
  });
});

describe('docker config', () => {
  it('reads auths, including Docker Hub keys written as URLs', async () => {
    const home = join(dir, 'docker-home');
    await writeJson(join(home, '.docker', 'config.json'), {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
        'quay.example': { username: 'q', password: 'qpw' },
        'tokens.example': { auth: '', identitytoken: 'refresh-me' },
      },
    });
    const provider = dockerConfigCredentials({ homeDir: home, env: {} });
    expect(await provider({ registry: 'docker.io', repository: 'library/alpine' })).toEqual({
      username: 'hubuser',
      password: 'hubpass',
    });
    expect(await provider({ registry: 'quay.example' })).toEqual({ username: 'q', password: 'qpw' });
    expect(await provider({ registry: 'tokens.example' })).toEqual({ identityToken: 'refresh-me' });
  });

  it('runs credential helpers (credHelpers per registry, credsStore otherwise) with the host on stdin', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const helper = async (name: string, script: string) => {
      const path = join(bin, `docker-credential-${name}`);
      await writeFile(path, `#!/bin/sh\n${script}\n`);
      await chmod(path, 0o755);
    };
    await helper(
      'special',
      'read host\n[ "$1" = get ] || exit 3\nprintf \'{"ServerURL":"%s","Username":"helper-user","Secret":"from-%s"}\' "$host" "$host"',
    );
    await helper(
      'store',
      'read host\nif [ "$host" = "stored.example" ]; then echo \'{"Username":"<token>","Secret":"id-token"}\'; else echo "credentials not found in native keychain"; exit 1; fi',
    );
    const home = join(dir, 'helper-home');
    await writeJson(join(home, '.docker', 'config.json'), {
      credHelpers: { 'helped.example:5000': 'special' },
      credsStore: 'store',
    });
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    const provider = dockerConfigCredentials({ homeDir: home, env });
    expect(await provider({ registry: 'helped.example:5000', repository: 'x' })).toEqual({
      username: 'helper-user',
      password: 'from-helped.example:5000',
    });
    expect(await provider({ registry: 'stored.example' })).toEqual({ identityToken: 'id-token' });
    expect(await provider({ registry: 'missing.example' })).toBeUndefined();
  });

  it('explains a configured helper that is not installed', async () => {
    const home = join(dir, 'missing-helper-home');
    await writeJson(join(home, '.docker', 'config.json'), { credHelpers: { 'x.example': 'absent' } });
    const provider = dockerConfigCredentials({ homeDir: home, env: { PATH: '/nonexistent' } });
    await expect(provider({ registry: 'x.example' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('docker-credential-absent'),
    });
  });
});

describe('containers auth.json', () => {
  it('reads REGISTRY_AUTH_FILE, then XDG_RUNTIME_DIR, then ~/.config/containers', async () => {
    const home = join(dir, 'containers-home');
    const runtime = join(dir, 'runtime');
    await writeJson(join(home, '.config', 'containers', 'auth.json'), {
      auths: { 'home.example': { auth: b64('home:pw') }, 'both.example': { auth: b64('home:both') } },
    });
    await writeJson(join(runtime, 'containers', 'auth.json'), {
      auths: {
        'runtime.example/ns': { auth: b64('runtime:pw') },
        'both.example': { auth: b64('runtime:both') },
      },
    });
    const explicit = await writeJson(join(dir, 'explicit-auth.json'), {
      auths: { 'explicit.example': { auth: b64('explicit:pw') } },
    });
    const provider = containersAuthCredentials({
      homeDir: home,
      env: { XDG_RUNTIME_DIR: runtime, REGISTRY_AUTH_FILE: explicit },
    });
    expect(await provider({ registry: 'explicit.example' })).toEqual({
      username: 'explicit',
      password: 'pw',
    });
    expect(await provider({ registry: 'runtime.example', repository: 'ns/app' })).toEqual({
      username: 'runtime',
      password: 'pw',
    });
    expect(await provider({ registry: 'runtime.example', repository: 'other/app' })).toBeUndefined();
    expect(await provider({ registry: 'both.example' })).toEqual({ username: 'runtime', password: 'both' });
    expect(await provider({ registry: 'home.example' })).toEqual({ username: 'home', password: 'pw' });
  });
});

describe('the default order', () => {
  it('prefers explicit credentials, then concil, docker, containers, and prompts last', async () => {
    const home = join(dir, 'order-home');
    await writeJson(join(home, '.concil', 'config.json'), {
      auths: { 'a.example': { auth: b64('concil:1') } },
    });
    await writeJson(join(home, '.docker', 'config.json'), {
      auths: { 'a.example': { auth: b64('docker:1') }, 'b.example': { auth: b64('docker:2') } },
    });
    await writeJson(join(home, '.config', 'containers', 'auth.json'), {
      auths: { 'b.example': { auth: b64('containers:2') }, 'c.example': { auth: b64('containers:3') } },
    });
    const prompted: string[] = [];
    const options = {
      homeDir: home,
      env: {},
      prompt: async ({ registry }: { registry: string }) => {
        prompted.push(registry);
        return { username: 'typed', password: 'in' };
      },
    };
    const provider = defaultCredentialProvider(options);
    expect(await provider({ registry: 'a.example' })).toEqual({ username: 'concil', password: '1' });
    expect(await provider({ registry: 'b.example' })).toEqual({ username: 'docker', password: '2' });
    expect(await provider({ registry: 'c.example' })).toEqual({ username: 'containers', password: '3' });
    expect(prompted).toEqual([]);
    expect(await provider({ registry: 'd.example' })).toEqual({ username: 'typed', password: 'in' });
    expect(prompted).toEqual(['d.example']);
    const explicit = defaultCredentialProvider({ ...options, explicit: { username: 'ref', password: 'x' } });
    expect(await explicit({ registry: 'a.example' })).toEqual({ username: 'ref', password: 'x' });
  });

  it('refuses a config file that is not JSON, naming the file', async () => {
    const home = join(dir, 'broken-home');
    await mkdir(join(home, '.concil'), { recursive: true });
    await writeFile(join(home, '.concil', 'config.json'), '{ nope');
    await expect(concilConfigCredentials({ homeDir: home, env: {} })({ registry: 'a' })).rejects.toThrow(
      /config\.json is not valid JSON/,
    );
  });
});
