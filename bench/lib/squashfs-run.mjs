// One conversion with our writer, in its own process so the bench can measure its peak RSS.
// Usage: node bench/lib/squashfs-run.mjs <tar> <out.sqfs> <compressor> <level> <blockSize>
import { createReadStream } from 'node:fs';
import { createSquashfs } from '../../packages/squashfs/dist/index.js';

const [tar, out, compressor, level, blockSize] = process.argv.slice(2);
const stats = await createSquashfs(createReadStream(tar, { highWaterMark: 1 << 20 }), out, {
  compressor,
  level: Number(level),
  blockSize: Number(blockSize),
});
process.stdout.write(`${JSON.stringify(stats)}\n`);
