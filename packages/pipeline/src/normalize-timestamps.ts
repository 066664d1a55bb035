import type { EntryFilter } from './entry-filter.js';
import { PipelineError } from './errors.js';

/** The largest time a tar header's 11 octal digits hold (year 2242). */
const MAX_TAR_SECONDS = 8 ** 11 - 1;

/**
 * `normalize-timestamps[:TS]`: every entry of every layer gets the mtime TS (seconds since the
 * epoch, 0 by default), pax atime/ctime/mtime records are dropped, and the config's `created`
 * and `history[].created` become TS too — so two builds of the same files give the same digests.
 */
export function normalizeTimestamps(seconds = 0): EntryFilter {
  const mtime = new Date(seconds * 1000);
  // As Docker and Go write times: no fraction of a second when there is none.
  const created = mtime.toISOString().replace(/\.000Z$/, 'Z');
  return {
    id: `normalize-timestamps:${seconds}`,
    rewrites: true,
    recipe: { name: 'normalize-timestamps', seconds },
    start: () => ({
      entry({ header }) {
        header.mtime = mtime;
        if (header.pax) {
          const {
            atime: _atime,
            ctime: _ctime,
            mtime: _mtime,
            ...rest
          } = header.pax as Record<string, string>;
          header.pax = Object.keys(rest).length > 0 ? rest : null;
        }
        return header;
      },
    }),
    editConfig(config) {
      if (config.created !== undefined) config.created = created;
      if (Array.isArray(config.history)) {
        config.history = config.history.map((entry: Record<string, unknown>) =>
          entry.created === undefined ? entry : { ...entry, created },
        );
      }
      return config;
    },
  };
}

/** A time with its zone, as `date -Is` or JavaScript's `toISOString()` write it. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** TS as written after `normalize-timestamps:`: seconds since the epoch, or an ISO 8601 time. */
export function parseTimestamp(text: string, filter: string): number {
  const seconds = /^\d+$/.test(text)
    ? Number(text)
    : ISO_8601.test(text)
      ? Date.parse(text) / 1000
      : Number.NaN;
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_TAR_SECONDS) {
    throw new PipelineError(
      'FILTER_INVALID',
      `${filter}: ${JSON.stringify(text)} is not a time a tar can record; give whole seconds since 1970 (0 … ${MAX_TAR_SECONDS}) or an ISO 8601 time such as 2021-01-01T00:00:00Z`,
      filter,
    );
  }
  return seconds;
}
