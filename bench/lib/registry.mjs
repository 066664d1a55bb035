// The benches' registry is the testkit's: Debian's docker-registry on loopback, stopped by PID.
export { startRegistry as startBenchRegistry } from '@concil/testkit';

/** The URL of a blob of `repository` in a registry. */
export function blobUrl(registryUrl, repository, digest) {
  return `${registryUrl}/v2/${repository}/blobs/${digest}`;
}
