import type { Command } from 'commander';

/** The socket of the Docker or Podman daemon that `docker-daemon:` locations are reached through. */
export function addSocketOption(command: Command): Command {
  return command.option(
    '--socket <path>',
    'the Docker or Podman API socket for docker-daemon: (default /var/run/docker.sock; podman: /run/podman/podman.sock)',
  );
}

/** Location options with the daemon's socket, when `--socket` was given. */
export function withSocket<T extends object>(
  options: T,
  flags: { socket?: string },
): T & { socket?: string } {
  return { ...options, ...(flags.socket && { socket: flags.socket }) };
}
