import { canonicalLocation } from '@concil/pipeline/location-spec';
import type { Command } from 'commander';
import { addSocketOption, withSocket } from '../daemon-socket.js';
import { formatBytes, formatTable } from '../format.js';
import { openerOf } from '../locations.js';
import { printJson } from '../output.js';
import { addRegistryOptions, locationOptions } from '../registry-options.js';

export function registerList(program: Command): void {
  const command = program
    .command('list')
    .description(
      'show an image: its metadata and one row per layer (of an index: its platforms, and one shown)',
    )
    .argument(
      '<image>',
      'docker://host/repo[:tag], dir:PATH or PATH, oci:PATH[:tag], oci-archive:FILE[:tag], docker-archive:FILE[:name:tag], docker-daemon:NAME[:TAG]',
    )
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)')
    .option('--config', 'also show entrypoint, cmd, user, ports, workdir, labels, env, volumes')
    .option('--history', 'also show the history')
    .option('--json', 'print manifest, config and descriptor as JSON')
    .option('--creds <user:pass>', 'credentials for the registry');
  addRegistryOptions(addSocketOption(command)).action(async (location: string, options) => {
    const spec = canonicalLocation(location);
    const [
      { countRecipients, JWE_KEYS_ANNOTATION, openImage },
      locations,
      { formatPlatform, layerKindOf, parsePlatform },
    ] = await Promise.all([import('@concil/image'), openerOf(spec), import('@concil/oci-spec')]);
    const target = locations.open(
      spec,
      withSocket(await locationOptions(spec, options, options.creds), options),
    );
    const image = await openImage(target, {
      ...(options.platform && { platform: parsePlatform(options.platform) }),
    }).finally(() => locations.close(target));
    // Of an index: every platform it holds, and which one is shown.
    const platforms = image.index?.index.manifests.map((m) => ({
      platform: m.platform ? formatPlatform(m.platform) : 'unknown',
      digest: m.digest,
      shown: m.digest === image.descriptor.digest,
    }));
    const { descriptor, config, manifest, index } = image;
    if (options.json) {
      printJson({ descriptor, manifest, config, ...(index && { index: { ...index, platforms } }) });
      return;
    }
    const out: string[] = [
      ...(image.index
        ? [
            `index:        ${image.index.descriptor.digest}`,
            `platforms:    ${platforms?.map((p) => `${p.platform}${p.shown ? ' (shown)' : ''}`).join(', ')}`,
          ]
        : []),
      `digest:       ${image.descriptor.digest}`,
      `created:      ${config.created ?? '-'}`,
      `author:       ${config.author ?? '-'}`,
      `architecture: ${[config.architecture, config.variant].filter(Boolean).join('/')}`,
      `os:           ${config.os}`,
      '',
      formatTable(
        withEncryptionColumn(
          [
            ['DIGEST', 'SIZE', 'MEDIA TYPE', 'TITLE'],
            ...image.layers.map((layer) => [
              layer.digest,
              formatBytes(layer.size),
              layer.mediaType,
              layer.title ?? '',
            ]),
          ],
          image.layers.map((layer) =>
            layerKindOf(layer.mediaType)?.encrypted
              ? recipientsText(countRecipients(layer.annotations[JWE_KEYS_ANNOTATION]))
              : undefined,
          ),
        ),
      ),
    ];
    if (options.config) out.push('', ...describeConfig(config.config ?? {}));
    if (options.history) {
      out.push(
        '',
        formatTable([
          ['CREATED', 'CREATED BY', 'COMMENT'],
          ...(config.history ?? []).map((h) => [
            h.created ?? '',
            `${h.created_by ?? ''}${h.empty_layer ? ' (empty layer)' : ''}`,
            h.comment ?? '',
          ]),
        ]),
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
  });
}

/** An ENCRYPTED column, only for images with an encrypted layer (others list as they did). */
function withEncryptionColumn(rows: string[][], encryption: (string | undefined)[]): string[][] {
  if (encryption.every((e) => e === undefined)) return rows;
  return rows.map((row, i) => [...row, i === 0 ? 'ENCRYPTED' : (encryption[i - 1] ?? '-')]);
}

function recipientsText(count: number | undefined): string {
  if (count === undefined) return 'yes (no JWE keys)';
  return `${count} recipient${count === 1 ? '' : 's'}`;
}

function describeConfig(c: Record<string, unknown> & { [key: string]: unknown }): string[] {
  const list = (value: unknown) => (Array.isArray(value) ? JSON.stringify(value) : '-');
  const keys = (value: unknown) =>
    value && typeof value === 'object' ? Object.keys(value).join(', ') || '-' : '-';
  const labels =
    c.Labels && typeof c.Labels === 'object' ? Object.entries(c.Labels as Record<string, string>) : [];
  const env = Array.isArray(c.Env) ? (c.Env as string[]) : [];
  return [
    `entrypoint:   ${list(c.Entrypoint)}`,
    `cmd:          ${list(c.Cmd)}`,
    `user:         ${(c.User as string) || '-'}`,
    `ports:        ${keys(c.ExposedPorts)}`,
    `workdir:      ${(c.WorkingDir as string) || '-'}`,
    `volumes:      ${keys(c.Volumes)}`,
    `labels:${labels.length ? '' : '       -'}`,
    ...labels.map(([k, v]) => `  ${k}=${v}`),
    `env:${env.length ? '' : '          -'}`,
    ...env.map((e) => `  ${e}`),
  ];
}
