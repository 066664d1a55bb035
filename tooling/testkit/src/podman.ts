import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { reapOnExit } from './process-reaper.js';

const run = promisify(execFile);

export interface TestPodman {
  /** The Docker-compatible API's Unix socket. */
  socketPath: string;
  /** The service's stdout and stderr. */
  logPath: string;
  /** Runs the podman command on the service's storage (`--root`, `--runroot`, vfs); returns stdout. */
  podman(args: readonly string[]): Promise<string>;
  /** `podman load -i FILE` into the service's storage; returns what podman reports. */
  load(archive: string): Promise<string>;
  /**
   * Loads the image an OCI layout tags (a fixture layout) under `name` (`repo:tag`), as docker
   * save's format through skopeo; podman files it as `docker.io/<name>`.
   */
  loadLayout(layout: string, tag: string, name: string): Promise<void>;
  /** The diff_ids of an image the service holds, as `podman image inspect` gives them. */
  diffIds(name: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's podman API service (`podman system service`) as root on a private storage
 * (vfs, no containers) in a temporary directory, and waits until `GET /_ping` answers on its
 * Unix socket. Stopping kills its process group and removes the directory.
 */
export async function startPodman(): Promise<TestPodman> {
  const dir = await mkdtemp(join(tmpdir(), 'concil-podman-'));
  const socketPath = join(dir, 'podman.sock');
  const logPath = join(dir, 'service.log');
  const storage = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'run'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
  ];
  // Big temporary files (an image being loaded) go to TMPDIR, inside the directory removed at stop.
  await mkdir(join(dir, 'tmp'));
  const env = { ...process.env, TMPDIR: join(dir, 'tmp') };
  const log = openSync(logPath, 'w');
  // Its own process group: podman starts helpers (conmon, catatonit) that must go with it.
  const child: ChildProcess = spawn(
    'podman',
    [...storage, 'system', 'service', '--time', '0', `unix://${socketPath}`],
    { stdio: ['ignore', log, log], detached: true, env },
  );
  closeSync(log);
  reapOnExit(child, dir);
  const podman = async (args: readonly string[]) =>
    (await run('podman', [...storage, ...args], { maxBuffer: 64 << 20, env })).stdout;
  const stop = async () => {
    await stopGroup(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(socketPath, child, logPath);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    socketPath,
    logPath,
    podman,
    load: (archive) => podman(['load', '-i', archive]),
    loadLayout: async (layout, tag, name) => {
      const archive = join(dir, 'tmp', `layout-${Date.now()}.tar`);
      await run('skopeo', ['copy', '-q', `oci:${layout}:${tag}`, `docker-archive:${archive}:${name}`]);
      await podman(['load', '-i', archive]);
      await rm(archive);
    },
    diffIds: async (name) =>
      JSON.parse(await podman(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', name])) as string[],
    stop,
  };
}

async function waitForPing(socketPath: string, child: ChildProcess, logPath: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) {
      throw new Error(`podman system service exited with ${child.exitCode}; see ${logPath}`);
    }
    if (await ping(socketPath)) return;
    await sleep(100);
  }
  throw new Error(`podman system service did not answer /_ping on ${socketPath} within 30 s; see ${logPath}`);
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** SIGTERM to the service's process group, SIGKILL after 5 s, and waits for the service to exit. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
