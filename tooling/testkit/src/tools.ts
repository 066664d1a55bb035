import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The peers integration tests use, and the Debian package that carries each. */
export const toolPackages: Record<string, string> = {
  skopeo: 'skopeo',
  umoci: 'umoci',
  'docker-registry': 'docker-registry',
  unsquashfs: 'squashfs-tools',
  tar2sqfs: 'squashfs-tools-ng',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
  notary: 'notary',
  'notary-server': 'notary',
  'notary-signer': 'notary',
};

/** The absolute path of an executable on PATH, or undefined. */
export async function findTool(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

let updated = false;

/**
 * Makes sure the named tools (default: all of `toolPackages`) are on PATH. Missing ones are
 * installed with apt-get when running as root; otherwise an error lists what to install.
 */
export async function ensureTools(
  names: string[] = Object.keys(toolPackages),
): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const path = await findTool(name);
    if (path) found[name] = path;
    else missing.push(name);
  }
  if (missing.length === 0) return found;
  const packages = [...new Set(missing.map((name) => toolPackages[name] ?? name))];
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing tools ${missing.join(', ')}: install them with apt-get install ${packages.join(' ')}`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    await run('apt-get', ['update'], { env, maxBuffer: 64 << 20 });
    updated = true;
  }
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    env,
    maxBuffer: 64 << 20,
  });
  for (const name of missing) {
    const path = await findTool(name);
    if (!path) throw new Error(`${name} is still missing after apt-get install ${packages.join(' ')}`);
    found[name] = path;
  }
  return found;
}
