import { describe, expect, it } from 'vitest';
import {
  formatReference,
  hostOf,
  isLoopbackHost,
  isTag,
  manifestReference,
  parseReference,
  registryBaseUrl,
} from './reference.js';
import { catchOciSpecError } from './testing/catch-error.js';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['docker://alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis', tag: 'latest' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    [
      'index.docker.io/library/alpine',
      { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' },
    ],
    ['registry-1.docker.io/x/y:1', { registry: 'docker.io', repository: 'x/y', tag: '1' }],
    [`alpine@${digest}`, { registry: 'docker.io', repository: 'library/alpine', digest }],
    [
      `docker://alpine:3@${digest}`,
      { registry: 'docker.io', repository: 'library/alpine', tag: '3', digest },
    ],
    ['localhost/repo', { registry: 'localhost', repository: 'repo', tag: 'latest' }],
    ['localhost:5000/a/b', { registry: 'localhost:5000', repository: 'a/b', tag: 'latest' }],
    [`localhost:5000/a/b:t@${digest}`, { registry: 'localhost:5000', repository: 'a/b', tag: 't', digest }],
    ['quay.io/org/app:v1.2.3', { registry: 'quay.io', repository: 'org/app', tag: 'v1.2.3' }],
    ['ghcr.io/a/b/c/d:Tag_1', { registry: 'ghcr.io', repository: 'a/b/c/d', tag: 'Tag_1' }],
    ['127.0.0.1:5000/bench:latest', { registry: '127.0.0.1:5000', repository: 'bench', tag: 'latest' }],
    ['[::1]:5000/x/y:1', { registry: '[::1]:5000', repository: 'x/y', tag: '1' }],
    ['docker://[fe80::1]/x', { registry: '[fe80::1]', repository: 'x', tag: 'latest' }],
    ['r.io/a.b_c__d-e--f/g', { registry: 'r.io', repository: 'a.b_c__d-e--f/g', tag: 'latest' }],
  ])('parses %s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it('takes credentials from docker:// references, percent-decoded', () => {
    expect(parseReference('docker://user:pa%40ss%2Fw@registry.example.com:5000/team/app:1')).toEqual({
      registry: 'registry.example.com:5000',
      repository: 'team/app',
      tag: '1',
      username: 'user',
      password: 'pa@ss/w',
    });
    expect(parseReference('docker://token@localhost:5000/a')).toEqual({
      registry: 'localhost:5000',
      repository: 'a',
      tag: 'latest',
      username: 'token',
    });
    expect(parseReference(`docker://u:p@alpine@${digest}`)).toEqual({
      registry: 'docker.io',
      repository: 'library/alpine',
      digest,
      username: 'u',
      password: 'p',
    });
  });

  it.each([
    ['', /empty/],
    ['docker://', /empty/],
    ['Alpine', /"Alpine" is not a valid repository name component/],
    ['r.io/a//b', /"" is not a valid repository name component/],
    ['r.io/-a', /"-a"/],
    ['r.io/a_', /"a_"/],
    ['r.io/a:-tag', /"-tag" is not a valid tag/],
    [`r.io/a:${'t'.repeat(129)}`, /is not a valid tag/],
    ['r.io/a:t!g', /"t!g" is not a valid tag/],
    ['r.io/a@sha256:abc', /"sha256:abc" is not a valid digest/],
    [`r.io/a@md5:${'a'.repeat(32)}`, /is not a valid digest/],
    [`r.io/a@sha256:${'A'.repeat(64)}`, /is not a valid digest/],
    ['bad_host.io/a', /"bad_host\.io" is not a valid registry host/],
    ['r.io:port/a', /not a valid registry host/],
    ['r.io/', /empty or too long/],
    [`r.io/${'a'.repeat(256)}`, /empty or too long/],
  ])('refuses %j', (input, pattern) => {
    const e = catchOciSpecError(() => parseReference(input));
    expect(e.code).toBe('REFERENCE_INVALID');
    expect(e.message).toMatch(pattern);
  });

  it('never repeats a password in its errors', () => {
    for (const input of [
      'docker://user:s3cret@r.io/UPPER',
      'docker://user:s3cret@r.io/a:bad!tag',
      'docker://:s3cret@r.io/UPPER',
      'user:s3cret@r.io/a@sha256:bad',
    ]) {
      const e = catchOciSpecError(() => parseReference(input));
      expect(e.message).not.toContain('s3cret');
      expect(e.subject).not.toContain('s3cret');
      expect(e.message).toContain('***');
    }
    // An unencoded @ in the password cannot be parsed, and none of it is shown.
    const e = catchOciSpecError(() => parseReference('docker://user:s3c@ret@r.io/a'));
    expect(e.message).not.toMatch(/s3c|ret@/);
  });
});

describe('formatReference', () => {
  it('prints registry, repository, tag and digest, with the transport when asked', () => {
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(formatReference(parseReference(`localhost:5000/a/b:t@${digest}`), true)).toBe(
      `docker://localhost:5000/a/b:t@${digest}`,
    );
    expect(formatReference(parseReference(`r.io/a@${digest}`))).toBe(`r.io/a@${digest}`);
  });

  it('never prints credentials', () => {
    const ref = parseReference('docker://user:s3cret@r.io/a:1');
    expect(ref.password).toBe('s3cret');
    for (const text of [formatReference(ref), formatReference(ref, true)]) {
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('user');
    }
    expect(formatReference(ref, true)).toBe('docker://r.io/a:1');
  });

  it('round-trips through parseReference', () => {
    for (const input of ['docker.io/library/alpine:latest', `[::1]:5000/x/y:1@${digest}`, 'r.io/a/b:c']) {
      expect(formatReference(parseReference(input))).toBe(input);
    }
  });
});

describe('isTag', () => {
  it('accepts what a registry takes as a tag, and nothing else', () => {
    for (const tag of ['v1', 'latest', '1.0.0-rc.1', '_x', 'A'.repeat(128)]) expect(isTag(tag)).toBe(true);
    for (const tag of ['', '.v1', '-v1', 'a/b', 'a:b', 'a b', 'A'.repeat(129), 'café']) {
      expect(isTag(tag)).toBe(false);
    }
  });
});

describe('manifestReference', () => {
  it('pins the digest when there is one, else uses the tag', () => {
    expect(manifestReference(parseReference(`r.io/a:t@${digest}`))).toBe(digest);
    expect(manifestReference(parseReference('r.io/a:t'))).toBe('t');
    expect(manifestReference({ registry: 'r.io', repository: 'a' })).toBe('latest');
  });
});

describe('hosts and base URLs', () => {
  it('finds the host of a registry', () => {
    expect(hostOf('r.io:5000')).toBe('r.io');
    expect(hostOf('r.io')).toBe('r.io');
    expect(hostOf('[::1]:5000')).toBe('::1');
    expect(hostOf('[::1]')).toBe('::1');
  });

  it('knows loopback hosts', () => {
    for (const host of ['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['r.io', '10.0.0.1:5000', '[fe80::1]:5000', 'localhost.example.com', '128.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('speaks plain HTTP to loopback registries and HTTPS to the rest, unless told', () => {
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBaseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryBaseUrl('r.io')).toBe('https://r.io');
    expect(registryBaseUrl('r.io:5000', { plainHttp: true })).toBe('http://r.io:5000');
    expect(registryBaseUrl('127.0.0.1:5000', { plainHttp: false })).toBe('https://127.0.0.1:5000');
  });

  it('sends Docker Hub to its API host', () => {
    expect(registryBaseUrl(parseReference('alpine').registry)).toBe('https://registry-1.docker.io');
  });
});
