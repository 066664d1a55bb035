import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFixtureLayout,
  type FixtureLayout,
  pushFixture,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';

export interface FixtureRegistry {
  /** A temporary directory for the test's files. */
  work: string;
  /**
   * A docker-registry holding the fixture as skopeo pushed it: `skopeo/v2s2:1`, `skopeo/oci:1`
   * and the two-platform (linux/amd64, linux/arm64) index `skopeo/index:1`.
   */
  registry: TestRegistry;
  single: FixtureLayout;
  multi: FixtureLayout;
  stop(): Promise<void>;
}

export async function startFixtureRegistry(): Promise<FixtureRegistry> {
  const work = await mkdtemp(join(tmpdir(), 'concil-e2e-'));
  const registry = await startRegistry();
  const single = await buildFixtureLayout(join(work, 'single'));
  const multi = await buildFixtureLayout(join(work, 'multi'), { platforms: ['linux/amd64', 'linux/arm64'] });
  await pushFixture(single.dir, `${registry.host}/skopeo/v2s2:1`, { format: 'v2s2' });
  await pushFixture(single.dir, `${registry.host}/skopeo/oci:1`, { format: 'oci' });
  await pushFixture(multi.dir, `${registry.host}/skopeo/index:1`, { format: 'index' });
  return {
    work,
    registry,
    single,
    multi,
    async stop() {
      await registry.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
