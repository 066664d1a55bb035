import { describe, expect, it } from 'vitest';
import { Bundle } from './bundle.js';
import { Extracted } from './extracted.js';
import { Mounts } from './mounts.js';
import { openLocation } from './open-location.js';

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
