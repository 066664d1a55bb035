import { describe, expect, it } from 'vitest';
import { computeDigest } from './digest.js';
import { encodeManifest, parseManifest } from './manifest.js';
import { MediaType } from './media-types.js';
import { catchOciSpecError } from './testing/catch-error.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('a'), size: 123 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('b'), size: 456 }],
  annotations: { 'org.opencontainers.image.title': 'x' },
};
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: { mediaType: MediaType.dockerConfig, digest: d('a'), size: 123 },
  layers: [{ mediaType: MediaType.dockerLayerGzip, digest: d('b'), size: 456 }],
};
const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    {
      mediaType: MediaType.ociManifest,
      digest: d('c'),
      size: 789,
      platform: { os: 'linux', architecture: 'amd64' },
    },
  ],
};
const manifestList = { ...ociIndex, mediaType: MediaType.dockerManifestList };

describe('parseManifest', () => {
  it('parses an OCI image manifest', () => {
    const parsed = parseManifest(encode(ociManifest));
    expect(parsed.kind).toBe('manifest');
    expect(parsed.mediaType).toBe(MediaType.ociManifest);
    if (parsed.kind !== 'manifest') throw new Error('unreachable');
    expect(parsed.manifest.config.digest).toBe(d('a'));
    expect(parsed.manifest.layers).toHaveLength(1);
    expect(parsed.manifest.annotations).toEqual(ociManifest.annotations);
  });

  it('parses a Docker v2 schema 2 manifest', () => {
    const parsed = parseManifest(encode(dockerManifest));
    expect(parsed).toMatchObject({ kind: 'manifest', mediaType: MediaType.dockerManifest });
  });

  it('parses an OCI index and a Docker manifest list', () => {
    const index = parseManifest(encode(ociIndex));
    expect(index).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
    if (index.kind !== 'index') throw new Error('unreachable');
    expect(index.index.manifests[0]?.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parseManifest(encode(manifestList))).toMatchObject({
      kind: 'index',
      mediaType: MediaType.dockerManifestList,
    });
  });

  it('guesses the media type from the shape when neither document nor transport name it', () => {
    const { mediaType: _m, ...bareManifest } = ociManifest;
    const { mediaType: _i, ...bareIndex } = ociIndex;
    expect(parseManifest(encode(bareManifest))).toMatchObject({
      kind: 'manifest',
      mediaType: MediaType.ociManifest,
    });
    expect(parseManifest(encode(bareIndex))).toMatchObject({ kind: 'index', mediaType: MediaType.ociIndex });
    // A generic Content-Type is no information either.
    expect(parseManifest(encode(bareIndex), 'application/json; charset=utf-8')).toMatchObject({
      mediaType: MediaType.ociIndex,
    });
  });

  it('takes the media type from the transport when the document has none', () => {
    const { mediaType: _m, ...bare } = dockerManifest;
    expect(parseManifest(encode(bare), `${MediaType.dockerManifest}; charset=utf-8`).mediaType).toBe(
      MediaType.dockerManifest,
    );
  });

  it('prefers the media type the document declares over the transport', () => {
    expect(parseManifest(encode(ociManifest), MediaType.dockerManifest).mediaType).toBe(
      MediaType.ociManifest,
    );
  });

  it('refuses Docker schema 1 with a clear message, whether declared, sent or guessed', () => {
    const schema1 = { schemaVersion: 1, name: 'library/x', tag: 'latest', fsLayers: [], history: [] };
    for (const [bytes, transport] of [
      [encode(schema1), undefined],
      [encode(schema1), MediaType.dockerSchema1Signed],
      [encode({ ...schema1, mediaType: MediaType.dockerSchema1 }), undefined],
    ] as const) {
      const e = catchOciSpecError(() => parseManifest(bytes, transport, 'docker://r/x:latest'));
      expect(e.code).toBe('UNSUPPORTED');
      expect(e.message).toMatch(/schema 1/);
      expect(e.message).toMatch(/re-push/);
      expect(e.subject).toBe('docker://r/x:latest');
    }
  });

  it('refuses malformed JSON', () => {
    const e = catchOciSpecError(() =>
      parseManifest(new TextEncoder().encode('{"schemaVersion": 2,'), undefined, 'm1'),
    );
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toMatch(/^m1 is not valid JSON/);
    expect(e.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ['config', { ...ociManifest, config: undefined }, /is malformed: config: required, but missing$/],
    ['layers', { ...ociManifest, layers: undefined }, /layers/],
    [
      'layers.0.digest',
      { ...ociManifest, layers: [{ mediaType: MediaType.ociLayerGzip, size: 1 }] },
      /layers\.0\.digest/,
    ],
    [
      'a bad digest',
      { ...ociManifest, config: { ...ociManifest.config, digest: 'sha256:xyz' } },
      /config\.digest: not a valid sha256\/sha512 digest/,
    ],
    ['a negative size', { ...ociManifest, config: { ...ociManifest.config, size: -1 } }, /config\.size/],
    [
      'a size no double holds exactly',
      { ...ociManifest, config: { ...ociManifest.config, size: 2 ** 53 } },
      /config\.size: Invalid type: Expected an integer but received 9007199254740992$/,
    ],
    [
      'a layer given as a list',
      { ...ociManifest, layers: [[]] },
      /layers\.0: Invalid type: Expected Object but received Array$/,
    ],
    [
      'annotations given as a list',
      { ...ociManifest, annotations: ['x'] },
      /annotations: Invalid type: Expected Object but received Array$/,
    ],
    ['schemaVersion', { ...ociManifest, schemaVersion: 3 }, /schemaVersion/],
    ['manifests', { ...ociIndex, manifests: 'none' }, /manifests/],
    [
      'manifests.0.platform.os',
      { ...ociIndex, manifests: [{ ...ociIndex.manifests[0], platform: { architecture: 'arm64' } }] },
      /manifests\.0\.platform\.os/,
    ],
  ])('names the offending field when %s is wrong', (_name, document, pattern) => {
    const e = catchOciSpecError(() => parseManifest(encode(document)));
    expect(e.code).toBe('MANIFEST_INVALID');
    expect(e.message).toMatch(pattern);
  });

  it('refuses a document that reads as both manifest and index, whatever it declares', () => {
    for (const document of [
      { ...ociIndex, layers: ociManifest.layers },
      { ...ociIndex, config: ociManifest.config },
      { ...ociManifest, manifests: ociIndex.manifests },
      { ...ociManifest, mediaType: undefined, manifests: ociIndex.manifests },
    ]) {
      const e = catchOciSpecError(() => parseManifest(encode(document)));
      expect(e.code).toBe('MANIFEST_INVALID');
      expect(e.message).toMatch(/ambiguous/);
    }
  });

  it('refuses documents that are neither manifest nor index', () => {
    for (const document of [null, 42, 'text', [], { schemaVersion: 2 }]) {
      expect(catchOciSpecError(() => parseManifest(encode(document))).code).toBe('MANIFEST_INVALID');
    }
    const e = catchOciSpecError(() =>
      parseManifest(encode({ ...ociManifest, mediaType: MediaType.ociConfig })),
    );
    expect(e.message).toContain(`"${MediaType.ociConfig}"`);
  });

  it('keeps the bytes verbatim, whitespace, key order and unknown fields included', () => {
    const text = `{
      "layers": [],
      "schemaVersion": 2,
      "x-vendor": {"keep": true},
      "config": {"size": 2, "digest": "${d('e')}", "mediaType": "${MediaType.ociConfig}"}
    }\n`;
    const bytes = new TextEncoder().encode(text);
    const parsed = parseManifest(bytes);
    expect(parsed.bytes).toBe(bytes);
    expect(computeDigest(parsed.bytes)).toBe(computeDigest(text));
    if (parsed.kind !== 'manifest') throw new Error('unreachable');
    expect((parsed.manifest as Record<string, unknown>)['x-vendor']).toEqual({ keep: true });
  });
});

describe('encodeManifest', () => {
  it('describes exactly the bytes it returns, which parse back', () => {
    const { bytes, descriptor } = encodeManifest(ociManifest as never, MediaType.ociManifest);
    expect(descriptor).toEqual({
      mediaType: MediaType.ociManifest,
      digest: computeDigest(bytes),
      size: bytes.byteLength,
    });
    expect(parseManifest(bytes)).toMatchObject({ kind: 'manifest', mediaType: MediaType.ociManifest });
  });
});
