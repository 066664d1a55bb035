import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-trust-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

it('refuses to pull when the configuration asks for content trust, which is not implemented yet', async () => {
  const config = join(work, 'config.json');
  await writeFile(config, JSON.stringify({ content_trust: 'cosign', cache_dir: join(work, 'cache') }));
  // Nothing listens on port 9: the refusal comes before any request.
  const result = await runCli(['pull', 'docker://127.0.0.1:9/app:1'], { CONCIL_CONFIG: config });
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toContain(
    'content trust is required for 127.0.0.1:9/app:1 (content_trust "cosign", disable_content_trust false) but no cosign verifier was given, and concil has none yet',
  );
  expect(result.stderr).toContain('[TRUST_REQUIRED]');
});
