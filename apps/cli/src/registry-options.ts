import type { OpenTargetOptions } from '@concil/image';
import type { CredentialPrompt, Credentials } from '@concil/registry-client';
import { type Command, Option } from 'commander';

export interface RegistryFlags {
  insecure?: boolean;
  plainHttp?: boolean;
  certDir?: string;
  caFile?: string;
}

/** The flags every command that talks to registries takes. */
export function addRegistryOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--insecure', 'skip TLS certificate verification (only for registries you control)'),
    )
    .addOption(
      new Option('--plain-http', 'speak plain HTTP to the registry (default: only to loopback hosts)'),
    )
    .addOption(
      new Option('--cert-dir <dir>', 'CA certificates (*.crt) and client certificates (*.cert, *.key)'),
    )
    .addOption(new Option('--ca-file <file>', 'an extra PEM file of certificate authorities to trust'));
}

/** Target options from the flags, with credentials given as `user:pass` if any. */
export function targetOptions(flags: RegistryFlags, creds?: string): OpenTargetOptions {
  const credentials = creds ? parseCreds(creds) : undefined;
  return {
    registry: {
      ...(flags.insecure && { insecure: true }),
      ...(flags.plainHttp && { plainHttp: true }),
      ...(flags.certDir && { certDir: flags.certDir }),
      ...(flags.caFile && { caFile: flags.caFile }),
      ...(credentials && { credentials }),
      ...(process.stdin.isTTY && process.stderr.isTTY && { prompt: promptForCredentials }),
    },
  };
}

/**
 * Target options for a location: the flags over what the configuration says of registries
 * (`remote_servers` addresses, `cafile`). The configuration is read for `docker://` locations only.
 */
export async function locationOptions(
  spec: string,
  flags: RegistryFlags,
  creds?: string,
): Promise<OpenTargetOptions> {
  const options = targetOptions(flags, creds);
  if (!spec.startsWith('docker://')) return options;
  const { configuredRegistryOptions, loadConfig } = await import('@concil/store');
  const { config } = await loadConfig();
  return { registry: { ...configuredRegistryOptions(config), ...options.registry } };
}

function parseCreds(text: string): Credentials {
  const colon = text.indexOf(':');
  return colon < 0 ? { username: text } : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

const answers = new Map<string, Promise<Credentials | undefined>>();

/**
 * Asks on the terminal, the password without echo, once per registry however many targets of
 * the command reach it (a copy between two repositories of one registry). `read` (npm's own, pure
 * JS) is loaded only when a registry actually asks for credentials that no file has.
 */
export const promptForCredentials: CredentialPrompt = (request) => {
  let answer = answers.get(request.registry);
  if (!answer) {
    answer = ask(request);
    answers.set(request.registry, answer);
  }
  return answer;
};

const ask: CredentialPrompt = async ({ registry }) => {
  const { read } = await import('read');
  const terminal = { input: process.stdin, output: process.stderr };
  const username = await read({ ...terminal, prompt: `Username for ${registry}:` });
  if (!username) return undefined;
  const password = await read({ ...terminal, prompt: `Password for ${username}@${registry}:`, silent: true });
  process.stderr.write('\n'); // the Enter that ended the password was not echoed either
  return { username, password };
};
