// Benchmark: our tar → squashfs writer against tar2sqfs on two ~1 GB layers.
// Run from the repo root: `pnpm bench:squashfs` (needs `pnpm build` first): ours is `concil squashfs create`,
// started as its bin starts it.
// `--mb=<n>` scales the layers (default 1024), `--runs=<n>` sets runs per tool (default 3):
// pnpm bench:squashfs -- --mb=200 --runs=1
// `--parts=1` also converts the root filesystem's two kinds of content apart, with zstd-10: its big
// files (llvm, gcc: compression-bound for both tools) and its small ones (man pages, docs, locales).
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_NODE_FLAGS, cliPath } from './lib/cli.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(repo, '.cache', 'bench');
const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.slice(name.length + 3)) : fallback;
};
const targetMb = arg('mb', 1024);
const runs = arg('runs', 3);
const parts = arg('parts', 0) === 1;
const jobs = availableParallelism();
const blockSize = 131072;
mkdirSync(cache, { recursive: true });

if (!existsSync(cliPath)) {
  console.error('build the CLI first: pnpm build');
  process.exit(1);
}

function duBytes(path) {
  try {
    return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return 0;
  }
}

/** Many small files: /usr/share and parts of /usr/lib of this machine, up to the target size. */
function rootfsLayer() {
  const name = `rootfs-${targetMb}M`;
  if (existsSync(join(cache, `${name}.tar`))) return join(cache, `${name}.tar`);
  const candidates = [
    'usr/share',
    'usr/lib/python3',
    'usr/lib/python3.11',
    'usr/lib/gcc',
    'usr/lib/postgresql',
    'usr/lib/x86_64-linux-gnu/perl',
    'usr/lib/llvm-14',
  ].filter((p) => existsSync(`/${p}`));
  const chosen = [];
  let total = 0;
  for (const p of candidates) {
    if (total >= targetMb * 1024 * 1024) break;
    chosen.push(p);
    total += duBytes(`/${p}`);
  }
  return machineLayer(name, chosen);
}

/** The directories of this machine in `dirs` (those present) as one tar, made once. */
function machineLayer(name, dirs) {
  const path = join(cache, `${name}.tar`);
  if (existsSync(path)) return path;
  const chosen = dirs.filter((p) => existsSync(`/${p}`));
  console.log(`generating ${path} from ${chosen.join(' ')} …`);
  try {
    execFileSync('tar', ['--sort=name', '--format=pax', '-C', '/', '-cf', `${path}.partial`, ...chosen], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch (err) {
    if (err.status !== 1) throw err; // 1: files changed while read, archive still valid
  }
  renameSync(`${path}.partial`, path);
  return path;
}

/** Mostly incompressible: a few big files of random bytes and a little text. */
function randomLayer() {
  const path = join(cache, `random-${targetMb}M.tar`);
  if (existsSync(path)) return path;
  console.log(`generating ${path} …`);
  const dir = join(cache, 'random-src');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const files = 4;
  const each = Math.floor((targetMb * 1024 * 1024) / files);
  for (let i = 0; i < files; i++) {
    execFileSync('sh', ['-c', `head -c ${each} /dev/urandom > '${join(dir, 'data', `blob${i}.bin`)}'`]);
  }
  writeFileSync(join(dir, 'data', 'README'), 'random data for the squashfs benchmark\n'.repeat(100));
  execFileSync('tar', ['--sort=name', '-C', dir, '-cf', `${path}.partial`, 'data']);
  renameSync(`${path}.partial`, path);
  rmSync(dir, { recursive: true, force: true });
  return path;
}

/** Run a command under /usr/bin/time; returns wall seconds, CPU seconds (user + sys) and peak RSS in MB. */
function timed(cmd, args, stdinPath) {
  const timeFile = join(cache, 'time.out');
  return new Promise((ok, fail) => {
    const stdin = stdinPath ? openSync(stdinPath, 'r') : 'ignore';
    const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    // Each tool's summary line would clutter the table; shown only when the tool fails.
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      if (typeof stdin === 'number') closeSync(stdin);
      if (code !== 0) return fail(new Error(`${cmd} exited with ${code}: ${err.trim()}`));
      const [wall, rssKb, user, sys] = readFileSync(timeFile, 'utf8')
        .trim()
        .split('\n')
        .pop()
        .split(' ')
        .map(Number);
      ok({ wall, cpu: user + sys, rssMb: rssKb / 1024, out });
    });
  });
}

async function runOurs(tar, out, compressor, level) {
  const r = await timed(process.execPath, [
    ...CLI_NODE_FLAGS,
    cliPath,
    'squashfs',
    'create',
    '--compressor',
    compressor,
    '--level',
    String(level),
    '--block-size',
    String(blockSize),
    tar,
    out,
  ]);
  return { ...r, size: statSync(out).size };
}

async function runTar2sqfs(tar, out, compressor, level) {
  const args = [
    '-q',
    '-f',
    '-j',
    String(jobs),
    '-c',
    compressor,
    '-b',
    String(blockSize),
    '-X',
    `level=${level}`,
    out,
  ];
  const r = await timed('tar2sqfs', args, tar);
  return { ...r, size: statSync(out).size };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const bothSettings = [
  ['zstd', 10],
  ['gzip', 9],
];
const layers = [
  ['rootfs (many small files)', rootfsLayer(), bothSettings],
  ['random (incompressible)', randomLayer(), bothSettings],
];
if (parts) {
  const zstdOnly = [['zstd', 10]];
  layers.push(
    ['rootfs part: big files', machineLayer('rootfs-big', ['usr/lib/llvm-14', 'usr/lib/gcc']), zstdOnly],
    [
      'rootfs part: small files',
      machineLayer('rootfs-small', ['usr/share/man', 'usr/share/doc', 'usr/share/locale']),
      zstdOnly,
    ],
  );
}
const goals = { zstd: 0.8, gzip: 1.0 };
const rows = [];
for (const [layerName, tar, settings] of layers) {
  const tarMb = statSync(tar).size / 1024 / 1024;
  for (const [compressor, level] of settings) {
    const ours = [];
    const ref = [];
    for (let i = 0; i < runs; i++) {
      const o = join(cache, 'ours.sqfs');
      const t = join(cache, 'tar2sqfs.sqfs');
      ours.push(await runOurs(tar, o, compressor, level));
      ref.push(await runTar2sqfs(tar, t, compressor, level));
      rmSync(o, { force: true });
      rmSync(t, { force: true });
      console.log(
        `${layerName} ${compressor}-${level} run ${i + 1}: ours ${ours.at(-1).wall}s (cpu ${ours.at(-1).cpu.toFixed(1)}s) ${ours.at(-1).rssMb.toFixed(0)}MB, ` +
          `tar2sqfs ${ref.at(-1).wall}s (cpu ${ref.at(-1).cpu.toFixed(1)}s) ${ref.at(-1).rssMb.toFixed(0)}MB`,
      );
    }
    const m = (xs, k) => median(xs.map((x) => x[k]));
    const row = {
      layer: `${layerName} ${tarMb.toFixed(0)} MB`,
      // The issue's goals are for the two whole layers; the parts only show where the time goes.
      hasGoal: !layerName.startsWith('rootfs part'),
      setting: `${compressor}-${level}`,
      oursTime: m(ours, 'wall'),
      refTime: m(ref, 'wall'),
      timeRatio: m(ours, 'wall') / m(ref, 'wall'),
      oursCpu: m(ours, 'cpu'),
      refCpu: m(ref, 'cpu'),
      oursSize: m(ours, 'size'),
      refSize: m(ref, 'size'),
      sizeRatio: m(ours, 'size') / m(ref, 'size'),
      oursRssMb: m(ours, 'rssMb'),
      refRssMb: m(ref, 'rssMb'),
    };
    rows.push(row);
  }
}

/** Two decimals under ten seconds, where one would hide the ratio. */
const seconds = (s) => s.toFixed(s < 10 ? 2 : 1);

console.log(`\nmedians of ${runs} runs, block size ${blockSize}, tar2sqfs -j ${jobs}`);
console.log(
  'layer | setting | ours s | tar2sqfs s | time ratio (goal) | ours CPU s | tar2sqfs CPU s | ours MB | tar2sqfs MB | size ratio | ours RSS MB | tar2sqfs RSS MB',
);
for (const r of rows) {
  const goal = r.hasGoal ? `≤ ${goals[r.setting.split('-')[0]]}` : 'no goal';
  console.log(
    [
      r.layer,
      r.setting,
      seconds(r.oursTime),
      seconds(r.refTime),
      `${r.timeRatio.toFixed(2)} (${goal})`,
      seconds(r.oursCpu),
      seconds(r.refCpu),
      (r.oursSize / 1e6).toFixed(1),
      (r.refSize / 1e6).toFixed(1),
      r.sizeRatio.toFixed(4),
      r.oursRssMb.toFixed(0),
      r.refRssMb.toFixed(0),
    ].join(' | '),
  );
}
