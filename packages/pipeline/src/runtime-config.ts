import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import type { ImageConfig } from '@concil/oci-spec';
import { PipelineError } from './errors.js';
import { SafeTree } from './safe-tree.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CAPABILITIES = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * The runtime-spec `config.json` of a bundle for an image: the process from the image config
 * (entrypoint + cmd, else `sh`, env, working directory, user resolved against the rootfs's /etc/passwd and
 * /etc/group as runc does), around the defaults `runc spec` writes (namespaces, mounts, masked
 * paths, capabilities).
 */
export function runtimeConfig(config: ImageConfig, rootfs: string, hostname = 'concil'): object {
  const image = config.config ?? {};
  const command = [...(image.Entrypoint ?? []), ...(image.Cmd ?? [])];
  // An image without a command (a base image) runs `sh`, as `runc spec` and umoci write.
  const args = command.length > 0 ? command : ['sh'];
  const env = [...(image.Env ?? [])];
  if (!env.some((pair) => pair.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: resolveUser(image.User ?? '', rootfs),
      args,
      env,
      cwd: image.WorkingDir || '/',
      capabilities: Object.fromEntries(
        ['bounding', 'effective', 'permitted', 'ambient'].map((set) => [set, CAPABILITIES]),
      ),
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    annotations: Object.fromEntries(
      Object.entries(image.Labels ?? {}).filter(([key]) => key.startsWith('org.opencontainers.image.')),
    ),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type })),
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

interface User {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/**
 * `user`, `uid`, `user:group`, `uid:gid` (any mix) as numbers: names from the rootfs's
 * /etc/passwd and /etc/group, the primary group from passwd when none is given, and the groups
 * that list the user as additional ones, as runc's user lookup does. An unknown name is an error.
 */
export function resolveUser(spec: string, rootfs: string): User {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = readRootfsFile(rootfs, 'etc/passwd');
  const entries = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 4);
  const numeric = /^\d+$/.test(userPart);
  const entry =
    userPart === ''
      ? entries.find((f) => f[2] === '0')
      : entries.find((f) => (numeric ? f[2] === userPart : f[0] === userPart));
  if (!entry && !numeric && userPart !== '') {
    throw new PipelineError(
      'CONFIG_INVALID',
      `the image's user "${spec}" is not in the image's /etc/passwd`,
      spec,
    );
  }
  const uid = numeric ? Number(userPart) : Number(entry?.[2] ?? 0);
  const groups = readRootfsFile(rootfs, 'etc/group')
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 3);
  let gid = Number(entry?.[3] ?? 0);
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((f) => f[0] === groupPart);
      if (!group) {
        throw new PipelineError(
          'CONFIG_INVALID',
          `the image's group "${groupPart}" is not in the image's /etc/group`,
          spec,
        );
      }
      gid = Number(group[2]);
    }
  }
  const name = entry?.[0];
  const additional = name
    ? groups
        .filter((f) => (f[3] ?? '').split(',').includes(name))
        .map((f) => Number(f[2]))
        .filter((g) => g !== gid)
    : [];
  return { uid, gid, ...(additional.length > 0 && { additionalGids: [...new Set(additional)] }) };
}

/** A file of the rootfs, read without following a link out of it; empty when there is none. */
function readRootfsFile(rootfs: string, path: string): string {
  const tree = new SafeTree(rootfs, 'rootfs');
  if (!tree.parentsAreDirectories(path)) return '';
  let fd: number;
  try {
    fd = openSync(tree.absolute(path), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return '';
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8') : '';
  } finally {
    closeSync(fd);
  }
}
