import type { FilterRun, LayerInspection, SearchMatch } from '@concil/pipeline';
import { formatBytes } from './format.js';
import { shownLocation } from './shown-location.js';

/**
 * What the filters of `concil process` (and `concil search`) found, once the copy is done: search
 * matches and layer inspections as JSON fields and as lines; an inspection with a file is written
 * there (as JSON) instead.
 */
export async function filterReport(
  run: FilterRun,
  source: string,
): Promise<{ json: Record<string, unknown>; text: string[] }> {
  // The packages as the commands load them: when they run, not when the command line is read.
  const [{ writeFileAtomic }, { InspectFilter, SearchFilter }] = await Promise.all([
    import('@concil/image'),
    import('@concil/pipeline'),
  ]);
  const image = await shownLocation(source);
  const searches: { pattern: string; regex: boolean; matches: (SearchMatch & { image: string })[] }[] = [];
  const inspections: { file?: string; layers: LayerInspection[] }[] = [];
  const text: string[] = [];
  for (const filter of run.filters) {
    if (filter instanceof SearchFilter) {
      const matches = filter.matches(run.images).map((match) => ({ image, ...match }));
      searches.push({ pattern: filter.pattern, regex: filter.regex, matches });
      text.push(...matches.map(matchLine));
    } else if (filter instanceof InspectFilter) {
      const layers = filter.layers(run.images);
      if (filter.file) {
        await writeFileAtomic(
          filter.file,
          new TextEncoder().encode(`${JSON.stringify({ image, layers }, null, 2)}\n`),
        );
        inspections.push({ file: filter.file, layers });
      } else {
        inspections.push({ layers });
        text.push(...layers.map(inspectionLine));
      }
    }
  }
  return {
    json: {
      ...(searches.length > 0 && { search: searches }),
      ...(inspections.length > 0 && { inspect: inspections }),
    },
    text,
  };
}

/** image, layer, path, type, size — tab-separated, one match a line. */
export function matchLine(match: SearchMatch & { image: string }): string {
  const image = match.platform ? `${match.image} [${match.platform}]` : match.image;
  const path = match.linkname ? `${match.path} -> ${match.linkname}` : match.path;
  return [image, match.layer, path, match.type, match.size].join('\t');
}

function inspectionLine(layer: LayerInspection): string {
  const largest = layer.largest
    .slice(0, 3)
    .map(({ path, size }) => `${path} (${formatBytes(size)})`)
    .join(', ');
  return `layer ${layer.digest} ${layer.mediaType} ${formatBytes(layer.size)}: ${layer.entries} entries, ${formatBytes(layer.fileBytes)} in files${largest ? `; largest ${largest}` : ''}`;
}
