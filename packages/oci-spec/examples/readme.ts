import { formatReference, parseManifest, parsePlatform, parseReference } from '@concil/oci-spec';

const ref = parseReference('docker://alice:s3cret@localhost:5000/team/app:1.0');
console.log(formatReference(ref), ref.username); // localhost:5000/team/app:1.0 alice

const bytes = new TextEncoder().encode('{"schemaVersion":2,"manifests":[]}');
const parsed = parseManifest(bytes); // no mediaType: an index, guessed by its shape
console.log(parsed.kind, parsed.mediaType);

console.log(parsePlatform('linux/arm64')); // arm64 is normalised to variant v8
