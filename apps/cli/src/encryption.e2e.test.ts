import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLockedRsaKey } from './test/locked-key.js';
import { oneLine } from './test/one-line.js';
import { runCli } from './test/run-cli.js';
import { runInTerminal } from './test/run-in-terminal.js';

const run = promisify(execFile);
let work: string;
/** The testkit's fixture: an OCI layout of one image with two tar+gzip layers. */
let source: string;
let home: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-cli-encrypt-'));
  home = join(work, 'home');
  source = join(work, 'source');
  const { buildFixtureLayout } = await import('@concil/testkit');
  await buildFixtureLayout(source);
});
afterAll(() => rm(work, { recursive: true, force: true }));

const env = () => ({ HOME: home, CONCIL_CONFIG: join(home, '.concil', 'config.json') });
const concilCopy = (...args: string[]) => runCli(['copy', ...args], env());

async function layersOf(layout: string) {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const blob = (digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), 'utf8'));
  return manifest.layers as { mediaType: string; digest: string; annotations?: Record<string, string> }[];
}

describe('concil copy --encryption / --decryption-key, concil config generate-encryption-key, concil list', () => {
  it('a generated key pair encrypts (squashfs in the same pass), lists, and decrypts with skopeo and concil', async () => {
    const generated = await runCli(['config', 'generate-encryption-key', 'team', '--json'], env());
    expect(generated.code).toBe(0);
    const keys = join(home, '.concil', 'keys');
    expect(JSON.parse(generated.stdout)).toEqual({
      privateKey: join(keys, 'team.pem'),
      publicKey: join(keys, 'team.pub.pem'),
    });
    expect((await readdir(keys)).sort()).toEqual(['team.pem', 'team.pub.pem']);

    const encrypted = join(work, 'encrypted');
    const copied = await concilCopy(
      '--squashfs',
      '--encryption',
      `jwe:${join(keys, 'team.pub.pem')}`,
      `oci:${source}:latest`,
      `oci:${encrypted}:v1`,
    );
    expect(copied.stderr).toBe('');
    expect(copied.stdout).toMatch(/, 2 layers transformed\n$/);
    const layers = await layersOf(encrypted);
    expect(layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.squashfs+encrypted',
      'application/vnd.oci.image.layer.v1.squashfs+encrypted',
    ]);

    const listed = await runCli(['list', `oci:${encrypted}:v1`], env());
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/MEDIA TYPE +TITLE +ENCRYPTED\n/);
    expect(listed.stdout.match(/squashfs\+encrypted +1 recipient\n/g)).toHaveLength(2);

    const bySkopeo = join(work, 'by-skopeo');
    await run('skopeo', [
      'copy',
      '--decryption-key',
      join(keys, 'team.pem'),
      `oci:${encrypted}:v1`,
      `oci:${bySkopeo}:v1`,
    ]);
    const byConcil = join(work, 'by-concil');
    const decrypted = await concilCopy(
      '--decryption-key',
      join(keys, 'team.pem'),
      `oci:${encrypted}:v1`,
      `oci:${byConcil}:v1`,
    );
    expect(decrypted.stdout).toMatch(/, 2 layers transformed\n$/);
    const plain = (await layersOf(byConcil)).map((l) => [l.mediaType, l.digest]);
    expect(plain.map(([type]) => type)).toEqual([
      'application/vnd.oci.image.layer.v1.squashfs',
      'application/vnd.oci.image.layer.v1.squashfs',
    ]);
    expect((await layersOf(bySkopeo)).map((l) => [l.mediaType, l.digest])).toEqual(plain);
  });

  it('--encrypt-layer chooses layers; a key that does not open them is one line with its code, the destination untouched', async () => {
    await runCli(['config', 'generate-encryption-key', 'other'], env());
    const keys = join(home, '.concil', 'keys');
    const encrypted = join(work, 'top-only');
    const copied = await concilCopy(
      '--encryption',
      join(keys, 'other.pub.pem'),
      '--encrypt-layer',
      '-1',
      `oci:${source}:latest`,
      `oci:${encrypted}:v1`,
    );
    expect(copied.code).toBe(0);
    expect((await layersOf(encrypted)).map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',
    ]);
    // Decrypted and converted to squashfs in one pass: the top layer decrypted, both converted.
    const squashfs = join(work, 'top-only-squashfs');
    const converted = await concilCopy(
      '--squashfs',
      '--decryption-key',
      join(keys, 'other.pem'),
      `oci:${encrypted}:v1`,
      `oci:${squashfs}:v1`,
    );
    expect(converted.stdout).toMatch(/, 2 layers transformed\n$/);
    expect((await layersOf(squashfs)).map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.squashfs',
      'application/vnd.oci.image.layer.v1.squashfs',
    ]);
    const top = (await layersOf(encrypted))[1]!.digest;
    const dst = join(work, 'refused');
    const refused = await concilCopy(
      '--decryption-key',
      join(keys, 'team.pem'),
      `oci:${encrypted}:v1`,
      `dir:${dst}`,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `concil: none of the 1 decryption keys (${join(keys, 'team.pem')}) opens layer ${top}, which is encrypted for 1 recipient: give the private key of one of them [NOT_A_RECIPIENT]\n`,
    );
    await expect(readdir(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an encrypted private key opens with --key-password-file, or with the password asked on a terminal', async () => {
    const keys = join(work, 'locked');
    await mkdir(keys);
    await writeLockedRsaKey(keys);
    const encrypted = join(work, 'for-rsa');
    expect(
      (
        await concilCopy(
          '--encryption',
          join(keys, 'rsa.pub.pem'),
          `oci:${source}:latest`,
          `oci:${encrypted}:v1`,
        )
      ).code,
    ).toBe(0);
    const without = await concilCopy(
      '--decryption-key',
      join(keys, 'rsa.pem'),
      `oci:${encrypted}:v1`,
      `oci:${join(work, 'x')}:v1`,
    );
    expect(without.stderr).toBe(
      `concil: the key ${join(keys, 'rsa.pem')} is encrypted: give its password (--key-password-file) [KEY_INVALID]\n`,
    );
    const decrypted = join(work, 'rsa-decrypted');
    const result = await concilCopy(
      '--decryption-key',
      join(keys, 'rsa.pem'),
      '--key-password-file',
      join(keys, 'password'),
      `oci:${encrypted}:v1`,
      `oci:${decrypted}:v1`,
    );
    expect(result.stderr).toBe('');
    expect((await layersOf(decrypted)).map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+gzip',
    ]);
    // On a terminal, without the file, the password is asked for, hidden.
    const prompted = join(work, 'rsa-prompted');
    const { code, screen } = await runInTerminal(
      ['copy', '--decryption-key', join(keys, 'rsa.pem'), `oci:${encrypted}:v1`, `oci:${prompted}:v1`],
      [{ when: new RegExp(`Password for ${join(keys, 'rsa.pem')}:`), type: 'sesame\r' }],
    );
    expect(code).toBe(0);
    expect(screen).not.toContain('sesame');
    expect(screen).toMatch(/2 layers transformed/);
    expect((await layersOf(prompted)).map((l) => l.digest)).toEqual(
      (await layersOf(decrypted)).map((l) => l.digest),
    );
  });

  it('--add-recipient lets a second key open the layers, which keep their bytes; without --decryption-key it says what is missing', async () => {
    for (const name of ['first', 'second']) {
      expect((await runCli(['config', 'generate-encryption-key', name], env())).code).toBe(0);
    }
    const keys = join(home, '.concil', 'keys');
    const encrypted = join(work, 'for-first');
    expect(
      (
        await concilCopy(
          '--encryption',
          join(keys, 'first.pub.pem'),
          `oci:${source}:latest`,
          `oci:${encrypted}:v1`,
        )
      ).code,
    ).toBe(0);
    const widened = join(work, 'for-both');
    const added = await concilCopy(
      '--add-recipient',
      join(keys, 'second.pub.pem'),
      '--decryption-key',
      join(keys, 'first.pem'),
      `oci:${encrypted}:v1`,
      `oci:${widened}:v1`,
    );
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/, 2 layers transformed\n$/);
    expect((await layersOf(widened)).map((l) => l.digest)).toEqual(
      (await layersOf(encrypted)).map((l) => l.digest),
    );
    const listed = await runCli(['list', `oci:${widened}:v1`], env());
    expect(listed.stdout.match(/tar\+gzip\+encrypted +2 recipients\n/g)).toHaveLength(2);
    const bySecond = join(work, 'by-second');
    const decrypted = await concilCopy(
      '--decryption-key',
      join(keys, 'second.pem'),
      `oci:${widened}:v1`,
      `oci:${bySecond}:v1`,
    );
    expect(decrypted.code).toBe(0);
    expect((await layersOf(bySecond)).map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+gzip',
    ]);

    const refused = await concilCopy(
      '--add-recipient',
      join(keys, 'second.pub.pem'),
      `oci:${encrypted}:v1`,
      `oci:${join(work, 'none')}:v1`,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      'concil: --add-recipient needs --decryption-key: a private key that opens the layers now [PLAN_INVALID]\n',
    );
    await expect(readdir(join(work, 'none'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('concil process on encrypted layers', () => {
  it('a filter that rewrites layers refuses them, says to decrypt first, and writes nothing', async () => {
    expect((await runCli(['config', 'generate-encryption-key', 'process'], env())).code).toBe(0);
    const encrypted = join(work, 'encrypted-for-process');
    const copied = await concilCopy(
      '--encryption',
      `jwe:${join(home, '.concil', 'keys', 'process.pub.pem')}`,
      `oci:${source}:latest`,
      `oci:${encrypted}:v1`,
    );
    expect(copied.code).toBe(0);
    // Layers are transformed several at once: either may be the first refused.
    const digests = (await layersOf(encrypted)).map((layer) => layer.digest);
    for (const filter of ['normalize-timestamps', 'exclude:*.txt']) {
      const out = join(work, `processed-${filter.split(':')[0]}`);
      const refused = await runCli(['process', '-f', filter, `oci:${encrypted}:v1`, `oci:${out}:v1`], env());
      expect(refused.code).toBe(1);
      expect(oneLine(refused.stderr)).toMatch(
        new RegExp(
          `^concil: layer (${digests.join('|')}) is application/vnd\\.oci\\.image\\.layer\\.v1\\.tar\\+gzip\\+encrypted: decrypt it first \\[UNSUPPORTED\\]$`,
        ),
      );
      await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });
});
