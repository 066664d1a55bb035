import { describe, expect, it } from 'vitest';
import { parseImageConfig } from './image-config.js';
import { catchOciSpecError } from './testing/catch-error.js';

const config = {
  created: '2024-01-01T00:00:00Z',
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: '1000:1000',
    ExposedPorts: { '8080/tcp': {} },
    Env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8'],
    Entrypoint: ['/bin/app'],
    Cmd: ['--serve'],
    Volumes: { '/data': {} },
    WorkingDir: '/srv',
    Labels: { 'org.example.team': 'images' },
    StopSignal: 'SIGTERM',
  },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs /' }, { empty_layer: true }],
};

describe('parseImageConfig', () => {
  it('parses a full config from bytes or text', () => {
    const parsed = parseImageConfig(new TextEncoder().encode(JSON.stringify(config)));
    expect(parsed).toEqual(config);
    expect(parseImageConfig(JSON.stringify(config)).config?.Entrypoint).toEqual(['/bin/app']);
  });

  it('accepts the nulls Docker writes for empty lists and maps, and a missing config', () => {
    const parsed = parseImageConfig(
      JSON.stringify({
        ...config,
        config: { Env: null, Cmd: null, Entrypoint: null, Volumes: null, ExposedPorts: null, Labels: null },
      }),
    );
    expect(parsed.config?.Cmd).toBeNull();
    const { config: _c, ...bare } = config;
    expect(parseImageConfig(JSON.stringify(bare)).config).toBeUndefined();
  });

  it('keeps every key of the labels as written, constructor and prototype included', () => {
    const labels = '{"constructor": "c", "prototype": "p", "org.example": "x"}';
    const text = JSON.stringify({ ...config, config: { Labels: {} } }).replace(
      '"Labels":{}',
      `"Labels":${labels}`,
    );
    expect(parseImageConfig(text).config?.Labels).toEqual(JSON.parse(labels));
  });

  it('keeps unknown fields', () => {
    const parsed = parseImageConfig(JSON.stringify({ ...config, container: 'abc', docker_version: '24' }));
    expect((parsed as Record<string, unknown>).docker_version).toBe('24');
  });

  it.each([
    ['architecture', { ...config, architecture: undefined }, /architecture/],
    ['rootfs', { ...config, rootfs: undefined }, /rootfs/],
    ['rootfs.diff_ids', { ...config, rootfs: { type: 'layers' } }, /rootfs\.diff_ids/],
    ['config.Env', { ...config, config: { Env: 'PATH=/bin' } }, /config\.Env/],
    [
      'config.Labels',
      { ...config, config: { Labels: { a: 1 } } },
      /config\.Labels\.a: Invalid type: Expected string but received 1$/,
    ],
    [
      'config as a list',
      { ...config, config: [] },
      /config: Invalid type: Expected Object but received Array$/,
    ],
    [
      'config.Volumes as a list',
      { ...config, config: { Volumes: ['/data'] } },
      /config\.Volumes: Invalid type: Expected Object but received Array$/,
    ],
    ['history', { ...config, history: [{ empty_layer: 'yes' }] }, /history\.0\.empty_layer/],
  ])('names the offending field when %s is wrong', (_name, document, pattern) => {
    const e = catchOciSpecError(() => parseImageConfig(JSON.stringify(document), 'config sha256:x'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/^config sha256:x is malformed/);
    expect(e.message).toMatch(pattern);
  });

  it('refuses malformed JSON', () => {
    const e = catchOciSpecError(() => parseImageConfig('{"os":'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/image config is not valid JSON/);
  });
});
