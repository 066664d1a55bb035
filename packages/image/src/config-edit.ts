import { ImageError } from './errors.js';

type Json = Record<string, unknown>;

/** Edits of the runtime config (the `config` object of an image config). */
export interface ConfigEdits {
  /** `uid:gid`, `uid`, `user` or `user:group`. */
  user?: string;
  /** `KEY=VALUE` sets KEY (in place when it is there), `KEY` alone removes it. */
  env?: readonly string[];
  /** Paths added to `Volumes`. */
  volumes?: readonly string[];
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  workingDir?: string;
  /** Labels set (others kept). */
  labels?: Readonly<Record<string, string>>;
}

/** Whether the edits change anything: empty lists and objects do not. */
export function hasConfigEdits(edits: ConfigEdits): boolean {
  return Object.values(edits).some(isGiven);
}

/** A value that asks for something: not undefined, not an empty list or object. */
export function isGiven(value: unknown): boolean {
  if (value === undefined) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return true;
}

/**
 * The image config with the edits applied to its `config` object; every other field stays as
 * the source wrote it.
 */
export function editConfig(edits: ConfigEdits): (config: Json) => Json {
  return (config) => {
    const runtime: Json = { ...((config.config as Json | undefined) ?? {}) };
    if (edits.user !== undefined) runtime.User = edits.user;
    if (edits.env?.length) runtime.Env = editEnv((runtime.Env as string[] | undefined) ?? [], edits.env);
    if (edits.volumes?.length) {
      runtime.Volumes = {
        ...((runtime.Volumes as Json | undefined) ?? {}),
        ...Object.fromEntries(edits.volumes.map((path) => [path, {}])),
      };
    }
    if (edits.entrypoint !== undefined) runtime.Entrypoint = [...edits.entrypoint];
    if (edits.cmd !== undefined) runtime.Cmd = [...edits.cmd];
    if (edits.workingDir !== undefined) runtime.WorkingDir = edits.workingDir;
    if (edits.labels) runtime.Labels = { ...((runtime.Labels as Json | undefined) ?? {}), ...edits.labels };
    return { ...config, config: runtime };
  };
}

function editEnv(env: readonly string[], edits: readonly string[]): string[] {
  const out = [...env];
  for (const edit of edits) {
    const equals = edit.indexOf('=');
    const key = equals < 0 ? edit : edit.slice(0, equals);
    const at = out.findIndex((entry) => entry === key || entry.startsWith(`${key}=`));
    if (equals < 0) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = edit;
    else out.push(edit);
  }
  return out;
}

/**
 * A command as people type it for `--entrypoint` and `--cmd`: a JSON array of strings is taken
 * as it is (exec form); anything else is a shell string, run as `/bin/sh -c STRING` (shell form),
 * as a Dockerfile does.
 */
export function parseCommand(text: string, what = 'command'): string[] {
  if (!text.trimStart().startsWith('[')) return ['/bin/sh', '-c', text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ImageError(
      'CONFIG_EDIT_INVALID',
      `${what} ${text} is not a JSON array: ${(error as Error).message}`,
      text,
    );
  }
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) {
    throw new ImageError(
      'CONFIG_EDIT_INVALID',
      `${what} ${text} must be a JSON array of strings, or a shell string`,
      text,
    );
  }
  return parsed;
}

/** `KEY=VALUE` pairs (labels, annotations) as an object; a pair without `=` is refused. */
export function parsePairs(
  pairs: readonly string[],
  what: string,
  form = 'KEY=VALUE',
): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const equals = pair.indexOf('=');
      if (equals <= 0) {
        throw new ImageError('CONFIG_EDIT_INVALID', `${what} ${JSON.stringify(pair)} is not ${form}`, pair);
      }
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
}
