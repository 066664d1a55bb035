import { describe, expect, it } from 'vitest';
import { parseTargetSpec } from './target-spec.js';

describe('parseTargetSpec', () => {
  it('reads the transports there are and a bare path', () => {
    expect(parseTargetSpec('dir:/tmp/a')).toEqual({ kind: 'dir', path: '/tmp/a' });
    expect(parseTargetSpec('oci:/tmp/x:v1')).toEqual({ kind: 'oci', path: '/tmp/x', reference: 'v1' });
    expect(parseTargetSpec('oci:./c')).toEqual({ kind: 'oci', path: './c' });
    expect(parseTargetSpec('docker://127.0.0.1:5000/app:1')).toMatchObject({
      kind: 'registry',
      reference: { registry: '127.0.0.1:5000', repository: 'app', tag: '1' },
    });
    expect(parseTargetSpec('out/image')).toEqual({ kind: 'dir', path: 'out/image' });
  });

  it('takes a path with a colon as a path when it is written as one', () => {
    expect(parseTargetSpec('./oic:x')).toEqual({ kind: 'dir', path: './oic:x' });
    expect(parseTargetSpec('/abs/a:b')).toEqual({ kind: 'dir', path: '/abs/a:b' });
    expect(parseTargetSpec('out/a:b')).toEqual({ kind: 'dir', path: 'out/a:b' });
  });

  it('refuses a mistyped transport, naming the transports there are', () => {
    for (const spec of ['oic:/tmp/x:v1', 'dri:out', 'docker:alpine', 'OCI:/tmp/x']) {
      const prefix = spec.slice(0, spec.indexOf(':') + 1);
      expect(() => parseTargetSpec(spec)).toThrow(
        expect.objectContaining({
          code: 'TARGET_INVALID',
          subject: spec,
          message: `"${spec}": unknown transport "${prefix}"; use docker://HOST/REPO[:TAG], dir:PATH, oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] or a path (./${spec} for a directory of that name)`,
        }),
      );
    }
  });

  it('says which known kinds of location are not supported yet', () => {
    expect(() => parseTargetSpec('docker-daemon:app:1')).toThrow(
      expect.objectContaining({
        code: 'TARGET_INVALID',
        message: expect.stringMatching(/not supported yet/),
      }),
    );
  });
});
