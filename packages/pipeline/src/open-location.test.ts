import { describe, expect, it } from 'vitest';
import { canonicalLocation, openLocation, parseLocation } from './open-location.js';

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

  it('names the pipeline transports not there yet, and refuses unknown ones as @concil/image does', () => {
    expect(() => openLocation('dir://merged')).toThrow(
      expect.objectContaining({
        code: 'TARGET_INVALID',
        message: expect.stringContaining('extracted: locations are not supported yet'),
      }),
    );
    expect(() => openLocation('oic:layout')).toThrow(expect.objectContaining({ code: 'TARGET_INVALID' }));
  });
});
