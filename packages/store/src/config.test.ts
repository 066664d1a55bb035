import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsFromAuths } from '@concil/registry-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configPath,
  DEFAULT_CACHE_TIMEOUT,
  loadConfig,
  maskedConfig,
  remoteServerFor,
  trustRequired,
} from './config.js';
import { StoreError } from './errors.js';
import { configuredRegistryOptions } from './registry-source.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concil-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('configuration', () => {
  it('has defaults when no file exists: cosign, trust off, ~/.concil, seven days, unbounded', async () => {
    const env = { HOME: dir, CONCIL_CONFIG: join(dir, 'absent.json') };
    const { config, exists, path } = await loadConfig({ env });
    expect(exists).toBe(false);
    expect(path).toBe(join(dir, 'absent.json'));
    expect(config.content_trust).toBe('cosign');
    expect(config.disable_content_trust).toBe(true);
    expect(trustRequired(config)).toBe(false);
    expect(config.cache_dir).toBe(join(dir, '.concil'));
    expect(config.cache_timeout).toBe(DEFAULT_CACHE_TIMEOUT);
    expect(config.cache_max_bytes).toBeNull();
    expect(config.remote_servers).toEqual({});
  });

  it('reads ~/.concil/config.json unless CONCIL_CONFIG names another file', () => {
    expect(configPath({ HOME: '/home/someone' })).toBe('/home/someone/.concil/config.json');
    expect(configPath({ HOME: '/home/someone', CONCIL_CONFIG: '/etc/concil.json' })).toBe('/etc/concil.json');
    expect(configPath({ HOME: '/home/someone', CONCIL_CONFIG: '~/c.json' })).toBe('/home/someone/c.json');
  });

  it('honours every key, keeps unknown keys and masks secrets when shown', async () => {
    const path = await configFile('full.json', {
      cafile: 'ca.pem',
      cache_dir: '~/cache',
      cache_timeout: 60,
      cache_max_bytes: 1000,
      content_trust: 'notary',
      cosign_path: '/usr/bin/cosign',
      notary_path: '~/bin/notary',
      notary_trust_pinning: { root_ca: { 'docker.io': '/ca.pem' } },
      remote_servers: {
        'docker.io': { registry: 'https://mirror.example', notary: 'https://notary.example' },
      },
      auths: { 'mirror.example': { auth: 'dXNlcjpwYXNz' }, other: { username: 'u', password: 'p' } },
      future_key: { anything: 1 },
    });
    const { config } = await loadConfig({ env: { HOME: dir, CONCIL_CONFIG: path } });
    expect(config.cafile).toBe(join(dir, 'ca.pem'));
    expect(config.cache_dir).toBe(join(dir, 'cache'));
    expect(config.cache_timeout).toBe(60);
    expect(config.cache_max_bytes).toBe(1000);
    expect(config.content_trust).toBe('notary');
    expect(config.disable_content_trust).toBe(false);
    expect(trustRequired(config)).toBe(true);
    expect(config.cosign_path).toBe('/usr/bin/cosign');
    expect(config.notary_path).toBe(join(dir, 'bin/notary'));
    expect(config.notary_trust_pinning).toEqual({ root_ca: { 'docker.io': '/ca.pem' } });
    expect(config.remote_servers['docker.io']?.registry).toBe('https://mirror.example');
    expect(config.auths.other).toEqual({ username: 'u', password: 'p' });
    expect(config.extra).toEqual({ future_key: { anything: 1 } });
    const shown = maskedConfig(config);
    expect(JSON.stringify(shown)).not.toContain('dXNlcjpwYXNz');
    expect(JSON.stringify(shown)).not.toContain('"p"');
    expect(shown.auths).toEqual({
      'mirror.example': { auth: '***' },
      other: { username: 'u', password: '***' },
    });
    expect(shown.future_key).toEqual({ anything: 1 });
  });

  it('reads a file as the Python concil has it, every key, auths as base64 strings', async () => {
    // The Python concil's keys and forms: `trust_pinning` is its name of notary_trust_pinning,
    // `remote_servers` and `auths` are keyed by host name without the port.
    const python = `{
    "cafile": "~/certs/ca.pem",
    "disable_content_trust": false,
    "cache_dir": "~/.concil",
    "cache_timeout": 604800,
    "content_trust": "notary",
    "cosign_path": "~/.concil/cosign",
    "notary_path": "~/.concil/notary",
    "trust_pinning": {
        "root_ca": {
            "registry.example.com": "~/certs/notary-root.pem"
        }
    },
    "remote_servers": {
        "docker.io": {
            "registry": "https://registry.hub.docker.com",
            "notary": "https://notary.docker.io"
        },
        "registry.example.com": {
            "registry": "https://mirror.example.com/registry",
            "notary": "https://notary.example.com:4443"
        }
    },
    "auths": {
        "registry.example.com": "dXNlcjpwYXNz",
        "registry.example.com/team/*": "dGVhbTpzM2NyZXQ="
    }
}
`;
    const path = await configFile('python.json', python);
    const { config } = await loadConfig({ env: { HOME: dir, CONCIL_CONFIG: path } });
    expect(config.cafile).toBe(join(dir, 'certs/ca.pem'));
    expect(config.disable_content_trust).toBe(false);
    expect(trustRequired(config)).toBe(true);
    expect(config.cache_dir).toBe(join(dir, '.concil'));
    expect(config.cache_timeout).toBe(604800);
    expect(config.content_trust).toBe('notary');
    expect(config.cosign_path).toBe(join(dir, '.concil/cosign'));
    expect(config.notary_path).toBe(join(dir, '.concil/notary'));
    expect(config.notary_trust_pinning).toEqual({
      root_ca: { 'registry.example.com': '~/certs/notary-root.pem' },
    });
    expect(config.extra).toEqual({});

    expect(remoteServerFor(config, 'docker.io')).toEqual({
      registry: 'https://registry.hub.docker.com',
      notary: 'https://notary.docker.io',
    });
    // keyed by host name, it applies on every port, as in the Python concil
    expect(remoteServerFor(config, 'registry.example.com:5000')?.notary).toBe(
      'https://notary.example.com:4443',
    );
    const { registryUrl, caFile } = configuredRegistryOptions(config);
    expect(caFile).toBe(join(dir, 'certs/ca.pem'));
    expect(registryUrl?.('registry.example.com')).toBe('https://mirror.example.com/registry');
    expect(registryUrl?.('docker.io')).toBe('https://registry.hub.docker.com');
    expect(registryUrl?.('other.example.com')).toBeUndefined();

    const request = (registry: string, repository: string) =>
      credentialsFromAuths(config.auths, { registry, repository }, { anyPort: true });
    expect(request('registry.example.com', 'app')).toEqual({ username: 'user', password: 'pass' });
    expect(request('registry.example.com:5000', 'team/app')).toEqual({
      username: 'team',
      password: 's3cret',
    });
    const shown = maskedConfig(config);
    expect(shown.auths).toEqual({ 'registry.example.com': '***', 'registry.example.com/team/*': '***' });
    expect(JSON.stringify(shown)).not.toContain('dXNlcjpwYXNz');
    expect(JSON.stringify(shown)).not.toContain('dGVhbTpzM2NyZXQ=');
  });

  it('names the key of a remote server address that is no http(s) URL', async () => {
    const path = await configFile('ftp.json', {
      remote_servers: { 'r.example': { registry: 'ftp://r.example' } },
    });
    await expect(loadConfig({ path })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('"remote_servers.r.example.registry"'),
    });
  });

  it('says what an auth entry may be, and names the field of an object entry that is wrong', async () => {
    const path = await configFile('auths.json', { auths: { 'r.example': 5, 'q.example': { auth: 5 } } });
    await expect(loadConfig({ path })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `${path}: bad value for "auths.r.example": Invalid type: Expected a base64 "user:password" string or an Object but received 5; "auths.q.example.auth": Invalid type: Expected string but received 5`,
    });
  });

  it('refuses a list where a map belongs, and a number JSON cannot hold', async () => {
    const path = await configFile('list.json', '{"remote_servers": [], "cache_timeout": 1e999}');
    await expect(loadConfig({ path })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `${path}: bad value for "cache_timeout": Invalid number: Expected a finite number but received Infinity; "remote_servers": Invalid type: Expected Object but received Array`,
    });
  });

  it('lets disable_content_trust switch trust off even when a method is set', async () => {
    const path = await configFile('off.json', { content_trust: 'cosign', disable_content_trust: true });
    const { config } = await loadConfig({ path });
    expect(trustRequired(config)).toBe(false);
    const on = await loadConfig({ path: await configFile('on.json', { disable_content_trust: false }) });
    expect(trustRequired(on.config)).toBe(true);
    expect(on.config.content_trust).toBe('cosign');
  });

  it('names the file and the key of a bad value', async () => {
    const path = await configFile('bad.json', { cache_timeout: 'soon', content_trust: 'gpg' });
    const error = await loadConfig({ path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('"cache_timeout"');
    expect((error as Error).message).toContain('"content_trust"');
  });

  it('names the file and the problem of malformed JSON', async () => {
    const path = await configFile('malformed.json', '{"cache_dir": "/x",');
    await expect(loadConfig({ path })).rejects.toThrow(new RegExp(`${path}.*not valid JSON`));
    const notObject = await configFile('array.json', '[1]');
    await expect(loadConfig({ path: notObject })).rejects.toThrow(/must hold a JSON object/);
  });
});
