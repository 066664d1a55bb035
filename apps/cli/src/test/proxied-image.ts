import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFixtureLayout,
  type FaultProxy,
  type FixturePushFormat,
  pushFixture,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';

export const USER = 'tester';
export const PASSWORD = 'secret';

export interface ProxiedImage {
  /** A temporary directory for the test's files. */
  work: string;
  registry: TestRegistry;
  /** A fault proxy in front of the registry: what the tests talk to. */
  proxy: FaultProxy;
  /** The image's repository and tag, `app:1`, behind the proxy. */
  repository: string;
  stop(): Promise<void>;
}

/** A basic-auth docker-registry holding the fixture image (pushed by skopeo), behind a fault proxy. */
export async function startProxiedImage(format: FixturePushFormat): Promise<ProxiedImage> {
  const work = await mkdtemp(join(tmpdir(), 'concil-e2e-'));
  const registry = await startRegistry({ auth: 'basic', users: { [USER]: PASSWORD } });
  const layout = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(layout.dir, `${registry.host}/app:1`, { format, credentials: `${USER}:${PASSWORD}` });
  const proxy = await startFaultProxy(registry.url);
  return {
    work,
    registry,
    proxy,
    repository: 'app:1',
    async stop() {
      await proxy.stop();
      await registry.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
