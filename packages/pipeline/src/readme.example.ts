import { copy } from '@concil/image';
import { FilterRun, openLocation, parseFilters, type SearchFilter } from '@concil/pipeline';

// concil process SRC DST -f normalize-timestamps -f 'exclude:*.pyc,**/__pycache__' -f 'search:*.conf'
export async function example(src: string, dst: string) {
  const filters = parseFilters(['normalize-timestamps', 'exclude:*.pyc,**/__pycache__', 'search:*.conf']);
  const run = new FilterRun(filters); // run.edit puts every layer of every image through the filters
  const result = await copy(openLocation(src), openLocation(dst), { edit: run.edit });
  const found = (filters[2] as SearchFilter).matches(run.images); // per image, layer and entry
  return { digest: result.descriptor.digest, found: found.map(({ layer, path }) => `${layer} ${path}`) };
}
