import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface CredentialSourceOptions {
  /** Environment to read (`CONCIL_CONFIG`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `PATH`). */
  env?: NodeJS.ProcessEnv;
  /** Home directory (default `os.homedir()`). */
  homeDir?: string;
}

export function resolveOptions(options: CredentialSourceOptions): { env: NodeJS.ProcessEnv; home: string } {
  return { env: options.env ?? process.env, home: options.homeDir ?? homedir() };
}

/** concil's configuration: `$CONCIL_CONFIG` (a leading `~` is the home directory), else `~/.concil/config.json`. */
export function concilConfigPath(options: CredentialSourceOptions = {}): string {
  const { env, home } = resolveOptions(options);
  const fromEnv = env.CONCIL_CONFIG;
  if (!fromEnv) return join(home, '.concil', 'config.json');
  if (fromEnv === '~') return home;
  return resolve(fromEnv.startsWith('~/') ? join(home, fromEnv.slice(2)) : fromEnv);
}

/** docker's configuration: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(options: CredentialSourceOptions = {}): string {
  const { env, home } = resolveOptions(options);
  return join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
}
