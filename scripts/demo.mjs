// The main job on an embedded default: a registry on loopback, an image built in code,
// published with concil, copied back into an image directory, listed. No network.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, startRegistry } from '@concil/testkit';

const concilLauncher = join(import.meta.dirname, '..', 'concil');
const work = mkdtempSync(join(tmpdir(), 'concil-demo-'));
// The demo's cache and configuration live in its own temporary directory, not in ~/.concil.
const config = join(work, 'config.json');
writeFileSync(config, JSON.stringify({ cache_dir: join(work, 'cache') }));
const concil = (...args) => {
  console.log(`\n$ concil ${args.join(' ')}`);
  execFileSync(concilLauncher, args, {
    stdio: 'inherit',
    env: { ...process.env, CONCIL_CONFIG: config },
  });
};

const registry = await startRegistry();
try {
  console.log(`A docker-registry runs on ${registry.host}; an image with several layers is built in code.`);
  const layout = join(work, 'built');
  await buildFixtureLayout(layout);
  const image = `docker://${registry.host}/demo/app:1.0`;
  concil('copy', `oci:${layout}:latest`, image);
  concil('copy', image, join(work, 'app'));
  concil('list', join(work, 'app'), '--config', '--history');
  concil('list', image);
  concil('pull', '--squashfs', image);
  concil('pull', image);
  concil('cache', 'ls');
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
