import { copy, OciLayout } from '@concil/image';
import { Bundle, Extracted } from '@concil/pipeline';

// Unpack the image tagged "v1" of an OCI layout into a runtime bundle (`runc run --bundle DIR`),
// and into a directory of layers that images share, from which it is read back as it was.
export async function example(layoutPath: string, bundlePath: string, extractedPath: string) {
  await copy(new OciLayout(layoutPath, 'v1'), new Bundle(bundlePath));
  await copy(new OciLayout(layoutPath, 'v1'), new Extracted(extractedPath, 'app:v1'));
  const again = await copy(
    new Extracted(extractedPath, 'app:v1'),
    new OciLayout(`${layoutPath}-again`, 'v1'),
  );
  return again.descriptor; // its layers are uncompressed tars with the image's diff_ids
}
