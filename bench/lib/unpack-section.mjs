// The unpacking sinks' section of the pipeline bench: the bench image pulled from a loopback
// docker-registry by `concil copy docker://… extracted:DIR` and `… bundle:DIR` (one streaming pass:
// each layer unpacked as it arrives, several at once, no blob written to disk) against what people
// do today, `skopeo copy` into an OCI layout then `umoci unpack`. Goal: concil/(skopeo + umoci) ≤ 0.8.
// Shaped as a section of bench/pipeline.mjs (`{ image, work, log }` → tasks and ratios), with
// `stop()` for the registry it starts.
import { mkdir } from 'node:fs/promises';
import { CLI_NODE_FLAGS, cliPath } from './cli.mjs';
import { pushImage } from './image.mjs';
import { measure } from './measure.mjs';
import { startBenchRegistry } from './registry.mjs';

export async function unpackSection({ image, log }) {
  const registry = await startBenchRegistry();
  const source = `docker://${registry.host}/bench:latest`;
  try {
    const started = Date.now();
    await pushImage(image.reference, source);
    log(`unpack: pushed to ${source} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await registry.stop();
    throw error;
  }
  const concil = (destination) =>
    measure(process.execPath, [...CLI_NODE_FLAGS, cliPath, 'copy', '-q', source, destination]);
  const rootless = process.getuid?.() === 0 ? '' : '--rootless ';
  return {
    tasks: [
      { name: 'extracted concil', run: (dest) => concil(`extracted:${dest}:bench:latest`) },
      { name: 'bundle concil', run: (dest) => concil(`bundle:${dest}`) },
      {
        name: 'skopeo + umoci',
        run: async (dest) => {
          await mkdir(dest, { recursive: true });
          return measure('sh', [
            '-c',
            `skopeo --insecure-policy copy --quiet --src-tls-verify=false '${source}' 'oci:${dest}/layout:latest' && umoci unpack ${rootless}--image '${dest}/layout:latest' '${dest}/bundle'`,
          ]);
        },
      },
    ],
    ratios: [
      ['extracted concil/(skopeo + umoci)', 'extracted concil', 'skopeo + umoci', 0.8],
      ['bundle concil/(skopeo + umoci)', 'bundle concil', 'skopeo + umoci', 0.8],
    ],
    stop: () => registry.stop(),
  };
}
