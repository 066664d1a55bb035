import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CredentialSourceOptions {
  /** Environment to read (`CONCIL_CONFIG`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `PATH`). */
  env?: NodeJS.ProcessEnv;
  /** Home directory (default `os.homedir()`). */
  homeDir?: string;
}

export function resolveOptions(options: CredentialSourceOptions): { env: NodeJS.ProcessEnv; home: string } {
  return { env: options.env ?? process.env, home: options.homeDir ?? homedir() };
}

/** concil's configuration: `$CONCIL_CONFIG`, else `~/.concil/config.json`. */
export function concilConfigPath(options: CredentialSourceOptions = {}): string {
  const { env, home } = resolveOptions(options);
  return env.CONCIL_CONFIG || join(home, '.concil', 'config.json');
}

/** docker's configuration: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(options: CredentialSourceOptions = {}): string {
  const { env, home } = resolveOptions(options);
  return join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json');
}
