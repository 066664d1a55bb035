// Timing helpers for the benches: wall time and peak RSS of a command, medians, a table.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const TIME = '/usr/bin/time';

/**
 * Runs a command under GNU time and returns its wall time (seconds, measured here), peak RSS
 * (KiB, `%M`: for a command that starts others, the largest single process) and CPU time
 * (seconds, `%U` + `%S`: the command's and those of the processes it waited for — what it cost,
 * whatever else the machine ran meanwhile). Rejects with the command's stderr when it fails.
 */
export async function measure(command, args = [], options = {}) {
  const scratch = await mkdtemp(join(tmpdir(), 'concil-measure-'));
  const timeFile = join(scratch, 'time');
  try {
    const started = process.hrtime.bigint();
    const { code, stderr, stdout } = await new Promise((resolve, reject) => {
      const child = spawn(TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => {
        if (out.length < 1 << 16) out += chunk;
      });
      child.stderr.on('data', (chunk) => {
        if (err.length < 1 << 16) err += chunk;
      });
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ code: exitCode, stderr: err, stdout: out }));
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) {
      const error = new Error(
        `${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`,
      );
      error.stderr = stderr;
      throw error;
    }
    const timeOutput = (await readFile(timeFile, 'utf8')).trim().split('\n');
    const [peakRssKiB, user, system] = timeOutput.at(-1).split(' ').map(Number);
    return { seconds, peakRssKiB, cpuSeconds: user + system, stdout, stderr };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The wall time (seconds) of a command started directly, with nothing in between (no GNU time):
 * for commands that last milliseconds, where the start of a helper process would show. Rejects
 * with the command's stderr when it fails.
 */
export async function wallTime(command, args = [], options = {}) {
  const started = process.hrtime.bigint();
  const { code, stderr } = await new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk) => {
      if (err.length < 1 << 16) err += chunk;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stderr: err }));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`);
  return seconds;
}

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function formatSeconds(seconds) {
  return Number.isFinite(seconds) ? `${seconds.toFixed(2)} s` : 'n/a';
}

export function formatKiB(kib) {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)} MiB` : 'n/a';
}

export function formatBytes(bytes) {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${bytes} B`;
}

/** `a / b` as `1.23×`, or n/a. */
export function formatRatio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

/** Throughput in MB/s (10^6 bytes, as network tools count). */
export function formatThroughput(bytes, seconds) {
  return Number.isFinite(seconds) && seconds > 0 ? `${(bytes / seconds / 1e6).toFixed(0)} MB/s` : 'n/a';
}

/** Prints rows (arrays of strings) as an aligned table; the first row is the header. */
export function printTable(rows, write = (line) => console.log(line)) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  const line = (row) =>
    row
      .map((cell, column) => String(cell).padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  write(line(rows[0]));
  write(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) write(line(row));
}

/**
 * Writes dirty pages back before a timed run, so that one run's gigabyte of writes is not
 * flushed during the next one (the main source of noise in copy benches).
 */
export async function settle() {
  await promisify(execFile)('sync');
}
