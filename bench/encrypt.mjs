#!/usr/bin/env node
// pnpm bench:encrypt — layer encryption and decryption of the large bench image (an OCI layout
// of gzip layers, ~1 GB) from one OCI layout into another: `concil copy --encryption` against
// `skopeo copy --encryption-key`, `concil copy --decryption-key` against `skopeo copy
// --decryption-key`, beside the ceiling: every layer through `openssl enc -aes-256-ctr | openssl
// dgst -sha256`, all layers at once (what the copies do per layer, without a second hash); the
// same writing its ciphertext into the work directory, as the copies write their blobs; and openssl
// doing the whole job of a copy (four hash and cipher passes and the write).
// Options: --runs N (3), --scale 0.05 (a 20× smaller image for a quick try), --json FILE,
// --work-dir /dev/shm (where the copies go; the system's temporary directory by default).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBenchImage, parseBenchOptions, writeBenchRecord } from './lib/bench-setup.mjs';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';
import { formatBytes, formatRatio, measure } from './lib/measure.mjs';
import { printSummary, runTasks } from './lib/tasks.mjs';

const _repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

const { options, runs } = parseBenchOptions();
const log = (line) => console.log(line);

async function main() {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is not built: run pnpm build first`);
  const image = await loadBenchImage({ scale: options.scale, log });
  const { layerBytes } = image;
  const work = await mkdtemp(join(options['work-dir'], 'concil-bench-encrypt-'));
  try {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const pub = join(work, 'key.pub.pem');
    const priv = join(work, 'key.pem');
    await writeFile(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    // The input of the decryptions: the image encrypted once, untimed (by concil; skopeo reads it).
    const encrypted = join(work, 'encrypted');
    await measure(process.execPath, [
      ...CLI_NODE_FLAGS,
      cliPath,
      'copy',
      '-q',
      '--encryption',
      pub,
      image.reference,
      `oci:${encrypted}:v1`,
    ]);

    const concil = (args, dest) =>
      measure(process.execPath, [...CLI_NODE_FLAGS, cliPath, 'copy', '-q', ...args, `oci:${dest}:v1`]);
    const skopeo = (args, dest) =>
      measure('skopeo', ['--insecure-policy', 'copy', '--quiet', ...args, `oci:${dest}:v1`]);
    const blob = (digest) => join(image.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
    const key = randomBytes(32).toString('hex');
    const iv = randomBytes(16).toString('hex');
    // `tee`: where the copies write their blobs, the ceiling writing its ciphertext there too.
    const ceiling = (dest) =>
      image.layers
        .map(
          (l, i) =>
            `(openssl enc -aes-256-ctr -K ${key} -iv ${iv} -in ${blob(l.digest)} |${dest ? ` tee ${dest}/${i} |` : ''} openssl dgst -sha256 >/dev/null) &`,
        )
        .join('\n');
    // What an encrypting copy must do to each layer, by openssl: the source's SHA-256 (its
    // verification), AES-256-CTR, the HMAC and the SHA-256 of the ciphertext, the ciphertext written
    // (through pipes and tee, which cost copies of their own).
    const sameJob = (dest) =>
      image.layers
        .map((l, i) => {
          const fifo = (name) => `${dest}/${i}.${name}`;
          return [
            `mkfifo ${fifo('in')} ${fifo('out')} ${fifo('mac')}`,
            `openssl dgst -sha256 < ${fifo('in')} >/dev/null &`,
            `openssl dgst -sha256 < ${fifo('out')} >/dev/null &`,
            `openssl dgst -sha256 -hmac ${key} < ${fifo('mac')} >/dev/null &`,
            `(tee ${fifo('in')} < ${blob(l.digest)} | openssl enc -aes-256-ctr -K ${key} -iv ${iv} | tee ${fifo('out')} ${fifo('mac')} > ${dest}/${i}) &`,
          ].join('\n');
        })
        .join('\n');
    const tasks = [
      { name: 'encrypt concil', run: (dest) => concil(['--encryption', pub, image.reference], dest) },
      {
        name: 'encrypt skopeo',
        run: (dest) => skopeo(['--encryption-key', `jwe:${pub}`, image.reference], dest),
      },
      {
        name: 'decrypt concil',
        run: (dest) => concil(['--decryption-key', priv, `oci:${encrypted}:v1`], dest),
      },
      {
        name: 'decrypt skopeo',
        run: (dest) => skopeo(['--decryption-key', priv, `oci:${encrypted}:v1`], dest),
      },
      { name: 'openssl ceiling', run: () => measure('sh', ['-c', `${ceiling()}\nwait`]) },
      {
        name: 'openssl + write',
        run: async (dest) => {
          await mkdir(dest, { recursive: true });
          return measure('sh', ['-c', `${ceiling(dest)}\nwait`]);
        },
      },
      {
        name: 'openssl same job',
        run: async (dest) => {
          await mkdir(dest, { recursive: true });
          return measure('sh', ['-c', `${sameJob(dest)}\nwait`]);
        },
      },
    ];
    const summary = await runTasks(tasks, { runs, work, log });
    log('');
    log(`${formatBytes(layerBytes)} of layers, OCI layout to OCI layout, median of ${runs}:`);
    log('');
    printSummary(tasks, summary, layerBytes, { log, largestProcess: (name) => name.includes('openssl') });
    const time = (name) => summary[name].medianSeconds;
    log(`encrypt concil/skopeo   ${formatRatio(time('encrypt concil'), time('encrypt skopeo'))}`);
    log(`decrypt concil/skopeo   ${formatRatio(time('decrypt concil'), time('decrypt skopeo'))}`);
    const cpu = (name) => summary[name].medianCpuSeconds;
    for (const way of ['encrypt', 'decrypt']) {
      const concil = `${way} concil`;
      const against = (name) =>
        `${formatRatio(time(concil), time(name))} (CPU ${formatRatio(cpu(concil), cpu(name))})`;
      log(
        `${way} concil/openssl  ${against('openssl ceiling')}; against openssl + write ${against('openssl + write')}; against openssl same job ${against('openssl same job')}`,
      );
    }
    await writeBenchRecord('encrypt', options, { layerBytes, runs, summary }, log);
    if (tasks.some((t) => summary[t.name].runs.length === 0)) process.exitCode = 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
