import { describe, expect, it } from 'vitest';
import { Bundle } from './bundle.js';
import { Extracted } from './extracted.js';
import { canonicalLocation, pipelineTransportOf } from './location-spec.js';
import { Mounts } from './mounts.js';
import { openLocation, parseLocation } from './open-location.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('openLocation', () => {
  it("takes occystrap's URI forms for concil's", () => {
    expect(canonicalLocation('registry://127.0.0.1:5000/library/busybox:latest')).toBe(
      'docker://127.0.0.1:5000/library/busybox:latest',
    );
    expect(canonicalLocation('tar:///tmp/busybox.tar')).toBe('docker-archive:/tmp/busybox.tar');
    expect(canonicalLocation('tar://busybox.tar')).toBe('docker-archive:busybox.tar');
    expect(canonicalLocation('dir://merged')).toBe('extracted:merged');
    expect(canonicalLocation('oci://bundle')).toBe('bundle:bundle');
    expect(canonicalLocation('docker://host/repo:tag')).toBe('docker://host/repo:tag');
  });

  it("tells the pipeline's own transports from those @concil/image opens", () => {
    expect(pipelineTransportOf('docker-daemon:app:1')).toBe('docker-daemon');
    expect(pipelineTransportOf('extracted:/tmp/x')).toBe('extracted');
    expect(pipelineTransportOf('bundle:/tmp/x')).toBe('bundle');
    expect(pipelineTransportOf('mounts:/tmp/x')).toBe('mounts');
    for (const spec of [
      'docker://host/repo:1',
      'dir:/tmp/x',
      'oci:/tmp/x:1',
      '/tmp/x',
      'docker-archive:a.tar',
    ]) {
      expect(pipelineTransportOf(spec)).toBeUndefined();
    }
  });

  it('reads digest references in both forms', () => {
    for (const spec of [
      `registry://127.0.0.1:5000/app@${DIGEST}`,
      `docker://127.0.0.1:5000/app:1@${DIGEST}`,
    ]) {
      const location = parseLocation(spec);
      expect(location).toMatchObject({
        kind: 'image',
        target: { kind: 'registry', reference: { digest: DIGEST } },
      });
      expect(openLocation(spec).name).toContain('127.0.0.1:5000/app');
    }
  });

  it('refuses unknown transports as @concil/image does', () => {
    expect(() => openLocation('oic:layout')).toThrow(expect.objectContaining({ code: 'TARGET_INVALID' }));
  });
});

describe('openLocation: the unpacking sinks', () => {
  it('opens extracted:DIR[:NAME:TAG], bundle:DIR and mounts:DIR, and occystrap forms of them', () => {
    const extracted = openLocation('extracted:/tmp/x:registry.example:5000/repo:tag');
    expect(extracted).toBeInstanceOf(Extracted);
    expect((extracted as Extracted).path).toBe('/tmp/x');
    expect((extracted as Extracted).reference).toBe('registry.example:5000/repo:tag');
    expect((openLocation('extracted:/tmp/x') as Extracted).reference).toBeUndefined();
    expect(openLocation('dir:///tmp/x')).toBeInstanceOf(Extracted);
    expect(openLocation('bundle:/tmp/b')).toBeInstanceOf(Bundle);
    expect(openLocation('oci:///tmp/b')).toBeInstanceOf(Bundle);
    expect(openLocation('mounts:/tmp/m', { squashfs: true })).toBeInstanceOf(Mounts);
    expect(openLocation('mounts:/tmp/m').name).toBe('mounts:/tmp/m');
  });

  it('refuses one that names no directory or no image', () => {
    for (const spec of ['bundle:', 'mounts:', 'extracted:', 'extracted::a:b', 'extracted:/tmp/x:']) {
      expect(() => openLocation(spec), spec).toThrow(
        expect.objectContaining({
          code: 'TARGET_INVALID',
          subject: expect.stringContaining(spec.split(':')[0]!),
        }),
      );
    }
  });

  it('refuses a mounts: directory overlayfs options cannot name', () => {
    expect(() => openLocation('mounts:/tmp/a,b')).toThrow(
      expect.objectContaining({ code: 'TARGET_INVALID', subject: '/tmp/a,b' }),
    );
  });
});
