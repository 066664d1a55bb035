import type { Credentials } from '@concil/registry-client';
import type { Command } from 'commander';
import { printResult } from '../output.js';
import {
  addRegistryOptions,
  promptForCredentials,
  type RegistryFlags,
  targetOptions,
} from '../registry-options.js';

interface LoginFlags extends RegistryFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  dockerConfig?: boolean;
  json?: boolean;
}

/**
 * `concil login HOST` checks the credentials against the registry, then stores them in concil's
 * config (or docker's); `concil logout HOST` removes them. The password is never printed.
 */
export function registerLogin(program: Command): void {
  const login = program
    .command('login')
    .description("check credentials against a registry and store them in concil's config (or docker's)")
    .argument('<registry>', 'host[:port], optionally with a repository prefix (host/team)')
    .option('-u, --username <user>', 'the user name (asked on a terminal when absent)')
    .option(
      '-p, --password <password>',
      'the password (visible to other users of the machine: prefer --password-stdin)',
    )
    .option('--password-stdin', 'read the password from standard input')
    .option('--docker-config', 'store in $DOCKER_CONFIG/config.json or ~/.docker/config.json instead')
    .option('--json', 'print { registry, username, key, configPath, authenticated } as JSON');
  addRegistryOptions(login).action(async (server: string, options: LoginFlags) => {
    const {
      RegistryClient,
      RegistryError,
      credentialFile,
      isRegistryError,
      normalizeAuthKey,
      saveCredentials,
    } = await import('@concil/registry-client');
    const registry = normalizeAuthKey(server).split('/')[0] ?? server;
    const credentials = await askedCredentials(registry, options);
    // The registry checks them before anything is written (a /v2/ request, as docker login).
    const client = new RegistryClient(registry, { ...targetOptions(options).registry, credentials });
    let authenticated: boolean;
    try {
      ({ authenticated } = await client.ping());
    } catch (error) {
      if (!isRegistryError(error, 'UNAUTHORIZED')) throw error;
      throw new RegistryError(
        'UNAUTHORIZED',
        `${registry} refused the password of ${credentials.username} (UNAUTHORIZED); nothing was stored`,
        { reference: registry, ...(error.status !== undefined && { status: error.status }), cause: error },
      );
    } finally {
      await client.close();
    }
    const file = credentialFile(options.dockerConfig ? 'docker' : 'concil');
    const key = await saveCredentials(file, server, credentials);
    printResult(
      options.json,
      { registry, username: credentials.username, key, configPath: file.path, authenticated },
      () => [
        `logged in to ${registry} as ${credentials.username}${authenticated ? '' : ' (the registry asked for no credentials)'}; stored under "${key}" in ${file.path}`,
      ],
    );
  });

  program
    .command('logout')
    .description("remove a registry's credentials from concil's config (or docker's)")
    .argument('<registry>', 'host[:port], or the repository prefix given to login')
    .option('--docker-config', "remove them from docker's config instead")
    .option('--json', 'print { registry, removed, configPath } as JSON')
    .action(async (server: string, options: { dockerConfig?: boolean; json?: boolean }) => {
      const { credentialFile, removeCredentials } = await import('@concil/registry-client');
      const file = credentialFile(options.dockerConfig ? 'docker' : 'concil');
      const removed = await removeCredentials(file, server);
      printResult(options.json, { registry: server, removed, configPath: file.path }, () => [
        removed.length > 0
          ? `removed the credentials for ${server} from ${file.path}`
          : `no credentials for ${server} in ${file.path}`,
      ]);
    });
}

/** User and password from the flags, standard input or the terminal, in that order. */
async function askedCredentials(
  registry: string,
  options: LoginFlags,
): Promise<{ username: string; password: string }> {
  if (options.password !== undefined && options.passwordStdin) {
    throw usage('give the password with -p or with --password-stdin, not both');
  }
  let { username, password } = options;
  if (options.passwordStdin) {
    if (!username) throw usage('--password-stdin needs the user name too: add -u USER');
    password = (await readStdin()).replace(/\r?\n$/, '');
  }
  if (!username || password === undefined) {
    if (!process.stdin.isTTY || !process.stderr.isTTY) {
      throw usage(
        `no ${username ? 'password' : 'user name'} for ${registry}: give -u USER and the password with --password-stdin`,
      );
    }
    const asked: Credentials | undefined = await promptForCredentials({ registry });
    username = asked?.username;
    password = asked?.password;
  }
  if (!username || !password) throw usage(`no credentials given for ${registry}; nothing was stored`);
  return { username, password };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A mistake in how login was called: one line, code USAGE, nothing written. */
function usage(message: string): Error {
  return Object.assign(new Error(`concil login: ${message}`), { code: 'USAGE' });
}
