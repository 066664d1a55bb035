// Builds the concil command as a few files of plain JavaScript (esbuild), so that it starts fast:
// Node reads a handful of files instead of resolving and loading hundreds of modules. Code split
// at the commands' dynamic imports stays in chunks that load only when a command runs. The
// packages themselves stay unbundled ESM for library users; only this app is bundled.
import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = import.meta.dirname;
const dist = join(here, 'dist');

/**
 * Worker threads start from a script path found beside the calling module (builtWorkerScript): in
 * the bundle that is dist/ itself, so every built `*-worker.js` of our packages becomes an entry
 * point of the same name there.
 */
function workerEntryPoints() {
  const { dependencies } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
  const entries = {};
  for (const pkg of Object.keys(dependencies).filter((name) => name.startsWith('@concil/'))) {
    const pkgDist = dirname(fileURLToPath(import.meta.resolve(pkg)));
    for (const file of readdirSync(pkgDist).filter((name) => name.endsWith('-worker.js'))) {
      const name = file.slice(0, -'.js'.length);
      if (entries[name]) throw new Error(`two packages build a worker named ${file}`);
      entries[name] = join(pkgDist, file);
    }
  }
  return entries;
}

await rm(dist, { recursive: true, force: true });
const result = await build({
  entryPoints: {
    // concil.js turns on Node's compile cache before main.js and what it imports are loaded.
    concil: join(here, 'src', 'concil.ts'),
    main: join(here, 'src', 'main.ts'),
    ...workerEntryPoints(),
  },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.15',
  // A native addon with a package per platform, loaded with require() when xz is asked for: an
  // optional dependency of this package too, so that it resolves from dist/.
  external: ['@napi-rs/lzma'],
  // CommonJS dependencies (commander, cli-progress) require() Node's built-in modules.
  banner: {
    js: "import { createRequire as __concilRequire } from 'node:module';\nconst require = __concilRequire(import.meta.url);",
  },
  logLevel: 'warning',
  // CONCIL_BUNDLE_META=FILE writes esbuild's metafile: which modules went into which output file.
  metafile: process.env.CONCIL_BUNDLE_META !== undefined,
});
if (result.metafile) await writeFile(process.env.CONCIL_BUNDLE_META, JSON.stringify(result.metafile));
