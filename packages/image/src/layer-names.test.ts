import type { Descriptor } from '@concil/oci-spec';
import { describe, expect, it } from 'vitest';
import { resolveLayerNames } from './layer-names.js';

const layer = (hex: string, title?: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${hex.padEnd(64, '0')}`,
  size: 1,
  ...(title && { annotations: { 'org.opencontainers.image.title': title } }),
});
const layers = [layer('aa11', 'base'), layer('aa22', 'app'), layer('bb33'), layer('cc44', 'config')];

function failure(name: string): { code: string; message: string } {
  try {
    resolveLayerNames(layers, name);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`${name} resolved`);
}

describe('resolveLayerNames', () => {
  it('picks a layer by digest prefix, with or without sha256:, by title and by %N', () => {
    expect(resolveLayerNames(layers, 'aa2')).toEqual([1]);
    expect(resolveLayerNames(layers, 'sha256:bb')).toEqual([2]);
    expect(resolveLayerNames(layers, layers[3]!.digest)).toEqual([3]);
    expect(resolveLayerNames(layers, 'app')).toEqual([1]);
    expect(resolveLayerNames(layers, '%1')).toEqual([0]);
    expect(resolveLayerNames(layers, '%4')).toEqual([3]);
  });

  it('picks ranges A..B, A.. and ..B of any kind of name, both ends included', () => {
    expect(resolveLayerNames(layers, '%2..%4')).toEqual([1, 2, 3]);
    expect(resolveLayerNames(layers, 'app..')).toEqual([1, 2, 3]);
    expect(resolveLayerNames(layers, '..bb3')).toEqual([0, 1, 2]);
    expect(resolveLayerNames(layers, 'base..config')).toEqual([0, 1, 2, 3]);
    expect(resolveLayerNames(layers, '%3..%3')).toEqual([2]);
  });

  it('refuses a name matching two layers, listing both', () => {
    const error = failure('aa');
    expect(error.code).toBe('LAYER_AMBIGUOUS');
    expect(error.message).toContain(`%1 ${layers[0]!.digest} base`);
    expect(error.message).toContain(`%2 ${layers[1]!.digest} app`);
    expect(error.message).not.toContain(layers[2]!.digest);
  });

  it('refuses an unknown name, a position out of range and a backwards range, listing the layers', () => {
    for (const name of ['dd', 'missing', '%0', '%5', 'sha256:aa11x', '']) {
      const error = failure(name);
      expect(error.code).toBe('LAYER_UNKNOWN');
      expect(error.message).toContain(`%3 ${layers[2]!.digest}`);
    }
    expect(failure('%3..%2')).toMatchObject({
      code: 'LAYER_UNKNOWN',
      message: expect.stringContaining('backwards'),
    });
    expect(failure('%1..nothing').code).toBe('LAYER_UNKNOWN');
  });
});
