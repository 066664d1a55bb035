import { readFileSync } from 'node:fs';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from './fault-proxy.js';
import { startNotary } from './notary.js';
import { mountReadOnly } from './read-only-mount.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { ensureTools, findTool } from './tools.js';

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startRegistry', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('serves /v2/ on loopback and counts requests from its access log', async () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const before = await registry.requestCount();
    expect((await get(`${registry.url}/v2/`)).status).toBe(200);
    // the access log is written asynchronously
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await registry.requestCount();
    }
    expect(after).toBe(before + 1);
  });

  it('serves the API below a path with prefix, and nothing at /v2/', async () => {
    const prefixed = await startRegistry({ prefix: '/some/prefix/' });
    try {
      expect(prefixed.prefix).toBe('/some/prefix');
      expect((await get(`${prefixed.url}/some/prefix/v2/`)).status).toBe(200);
      expect((await get(`${prefixed.url}/v2/`)).status).toBe(404);
    } finally {
      await prefixed.stop();
    }
  });

  it('stops, and nothing answers afterwards', async () => {
    const other = await startRegistry({ auth: 'basic', users: { u: 'p' } });
    expect((await get(`${other.url}/v2/`)).status).toBe(401);
    const auth = Buffer.from('u:p').toString('base64');
    expect((await get(`${other.url}/v2/`, { authorization: `Basic ${auth}` })).status).toBe(200);
    await other.stop();
    await expect(get(`${other.url}/v2/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('startFaultProxy', () => {
  it('answers injected statuses, then passes requests through', async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy(registry.url, [
      { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: 'slow down' },
    ]);
    const first = await get(`${proxy.url}/v2/`);
    expect(first).toEqual({ status: 429, body: 'slow down' });
    expect((await get(`${proxy.url}/v2/`)).status).toBe(200);
    expect(proxy.requests.map((r) => r.fault)).toEqual(['status', undefined]);
    await proxy.stop();
    await registry.stop();
  });

  it('stalls a response after some bytes until the connection closes', async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy(registry.url, [
      { kind: 'stall', afterBytes: 1, match: { path: /^\/v2\/$/ } },
    ]);
    const received = await new Promise<{ body: string; ended: Promise<string> }>((resolve, reject) => {
      const req = request(`${proxy.url}/v2/`, (response) => {
        response.setEncoding('utf8').once('data', (body: string) => {
          const ended = new Promise<string>((done) => {
            response.on('end', () => done('end'));
            response.on('aborted', () => done('aborted'));
          });
          resolve({ body, ended });
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(received.body).toBe('{');
    await proxy.stop();
    expect(await received.ended).toBe('aborted');
    await registry.stop();
  });
});

describe('startNotary', () => {
  it('serves notary-server over TLS to the notary CLI, with a signer that takes only the server', async () => {
    const notary = await startNotary();
    try {
      const gun = '127.0.0.1:5000/testkit/demo';
      const payload = join(await mkdtemp(join(tmpdir(), 'concil-testkit-notary-')), 'payload');
      await writeFile(payload, 'hello');
      const { trustDir } = await notary.client(['init', gun]);
      await notary.client(['add', gun, 'v1', payload], { trustDir });
      await notary.client(['publish', gun], { trustDir });
      const listed = await notary.client(['list', gun]);
      expect(listed.trustDir).not.toBe(trustDir);
      expect(listed.stdout).toMatch(
        /^v1\s+2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\s+5\s+targets$/m,
      );
      // Without a client certificate, the signer ends the TLS handshake.
      const [host, port] = notary.signerAddress.split(':');
      const refused = await new Promise<string>((resolve) => {
        const socket = tlsConnect(
          { host, port: Number(port), ca: readFileSync(notary.caPath), ALPNProtocols: ['h2'] },
          () => socket.once('data', () => resolve('data')).once('close', () => resolve('closed')),
        );
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
      expect(refused).toBe('ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE');
    } finally {
      await notary.stop();
    }
  });
});

describe('tools', () => {
  it('finds the peers on PATH', async () => {
    expect(await findTool('definitely-not-a-tool-here')).toBeUndefined();
    const found = await ensureTools(['docker-registry', 'skopeo', 'umoci', 'unsquashfs', 'tar2sqfs']);
    expect(Object.keys(found).sort()).toEqual([
      'docker-registry',
      'skopeo',
      'tar2sqfs',
      'umoci',
      'unsquashfs',
    ]);
  });
});

describe('mountReadOnly', () => {
  it('gives a directory where writing fails with EROFS, and unmounts it', async () => {
    const mount = await mountReadOnly();
    await expect(writeFile(join(mount.path, 'x'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
    await mount.unmount();
    await expect(stat(mount.path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
