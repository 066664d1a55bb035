import { describe, expect, it } from 'vitest';
import { OciSpecError } from './errors.js';
import type { ImageIndex } from './manifest.js';
import { MediaType } from './media-types.js';
import {
  defaultPlatform,
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from './platform.js';

describe('parsePlatform', () => {
  it('parses os/arch and os/arch/variant, normalising', () => {
    expect(parsePlatform('linux/amd64')).toMatchObject({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/amd64').variant).toBeUndefined();
    expect(parsePlatform('linux/arm64')).toMatchObject({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/arm/v6')).toMatchObject({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('Linux/aarch64')).toMatchObject({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
  });

  it.each(['', 'linux', 'linux/', '/amd64', 'linux/arm/v7/extra'])('refuses %j', (text) => {
    try {
      parsePlatform(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OciSpecError);
      expect((e as OciSpecError).code).toBe('PLATFORM_INVALID');
      expect((e as OciSpecError).message).toMatch(/os\/arch\[\/variant\]/);
    }
  });
});

describe('normalizePlatform', () => {
  it('fills in default variants and Go architecture names', () => {
    expect(normalizePlatform({ os: 'linux', architecture: 'arm64' }).variant).toBe('v8');
    expect(normalizePlatform({ os: 'linux', architecture: 'arm' }).variant).toBe('v7');
    expect(normalizePlatform({ os: 'linux', architecture: 'x86_64' }).architecture).toBe('amd64');
    expect(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v1' }).variant).toBeUndefined();
    expect(normalizePlatform({ os: 'linux', architecture: 'amd64', variant: 'v3' }).variant).toBe('v3');
  });

  it('keeps other fields', () => {
    expect(
      normalizePlatform({ os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' }),
    ).toMatchObject({ 'os.version': '10.0.17763.1' });
  });
});

describe('formatPlatform and defaultPlatform', () => {
  it('formats with and without variant', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'amd64' })).toBe('linux/amd64');
    expect(formatPlatform(parsePlatform('linux/arm64'))).toBe('linux/arm64/v8');
  });

  it('describes this machine as Go would', () => {
    const p = defaultPlatform();
    expect(p.os).toBe('linux');
    expect(['amd64', 'arm64', '386', 'arm', 'ppc64le', 's390x', 'riscv64']).toContain(p.architecture);
  });
});

describe('platformMatches', () => {
  it('matches normalised platforms', () => {
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, parsePlatform('linux/arm64/v8'))).toBe(
      true,
    );
    expect(platformMatches({ os: 'linux', architecture: 'aarch64' }, parsePlatform('linux/arm64'))).toBe(
      true,
    );
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, parsePlatform('linux/arm')),
    ).toBe(false);
    expect(platformMatches({ os: 'windows', architecture: 'amd64' }, parsePlatform('linux/amd64'))).toBe(
      false,
    );
  });
});

describe('selectPlatform', () => {
  const m = (c: string, platform?: ImageIndex['manifests'][number]['platform']) => ({
    mediaType: MediaType.ociManifest,
    digest: `sha256:${c.repeat(64)}` as const,
    size: 100,
    ...(platform && { platform }),
  });
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      m('a', { os: 'linux', architecture: 'amd64' }),
      m('b', { os: 'linux', architecture: 'arm64' }),
      m('c', { os: 'linux', architecture: 'arm', variant: 'v7' }),
      m('d'),
    ],
  };

  it('finds the manifest for a platform', () => {
    expect(selectPlatform(index, parsePlatform('linux/amd64')).digest).toBe(`sha256:${'a'.repeat(64)}`);
    expect(selectPlatform(index, parsePlatform('linux/arm64/v8')).digest).toBe(`sha256:${'b'.repeat(64)}`);
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm' }).digest).toBe(
      `sha256:${'c'.repeat(64)}`,
    );
  });

  it('lists the available platforms when there is no match', () => {
    try {
      selectPlatform(index, parsePlatform('linux/s390x'), 'docker://r.io/a:1');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(OciSpecError);
      const error = e as OciSpecError;
      expect(error.code).toBe('PLATFORM_NOT_FOUND');
      expect(error.subject).toBe('docker://r.io/a:1');
      expect(error.message).toContain('docker://r.io/a:1 has no image for linux/s390x');
      expect(error.message).toContain('available: linux/amd64, linux/arm64, linux/arm/v7');
      expect(error.message).toMatch(/--platform/);
    }
  });

  it('says none are available when no manifest names a platform', () => {
    expect(() =>
      selectPlatform({ schemaVersion: 2, manifests: [m('d')] }, parsePlatform('linux/amd64')),
    ).toThrow(/available: none/);
  });
});
