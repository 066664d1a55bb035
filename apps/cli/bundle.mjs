// Builds the concil command as a few files of plain JavaScript (esbuild), so that it starts fast:
// Node reads a handful of files instead of resolving and loading hundreds of modules. Code split
// at the commands' dynamic imports stays in chunks that load only when a command runs. The
// packages themselves stay unbundled ESM for library users; only this app is bundled.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as http2Constants } from 'node:http2';
import { createRequire } from 'node:module';
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

/** The directory of package `name` as `from` (this app, or one of our packages) resolves it, with a `/`. */
function packageDir(name, from = '.') {
  const fromFile = from === '.' ? fileURLToPath(import.meta.url) : fileURLToPath(import.meta.resolve(from));
  let dir = dirname(createRequire(fromFile).resolve(name));
  while (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== name) dir = dirname(dir);
  return `${dir}/`;
}

/**
 * Built-in modules that CommonJS dependencies require when they load but use only on rare paths,
 * given to them as a stand-in that requires the real module on first use of a member. Each with
 * the members read when the dependency loads, copied at build time; a `callable` one is an
 * assert function, which asks the real module only when a condition fails.
 */
const LAZY_BUILTINS = [
  // commander spawns a child process only for a subcommand that is an executable file
  { dependency: 'commander', builtin: 'node:child_process', known: {} },
  // undici opens HTTP/2 sessions only when allowH2 is set (never in concil); node:http2 brings node:tls
  {
    dependency: 'undici',
    from: '@concil/registry-client',
    builtin: 'node:http2',
    known: { constants: http2Constants },
  },
  // undici checks its invariants with assert(condition) and loads node:assert for that alone (~2 ms,
  // its diff and error classes): a condition that holds needs nothing, any other goes to the real one
  { dependency: 'undici', from: '@concil/registry-client', builtin: 'node:assert', callable: true },
];

function lazyBuiltins() {
  const lazy = LAZY_BUILTINS.map((entry) => ({ ...entry, dir: packageDir(entry.dependency, entry.from) }));
  return {
    name: 'lazy-builtins',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, ({ path, importer }) => {
        const found = lazy.find(({ builtin, dir }) => builtin === path && importer.startsWith(dir));
        return found && { path: `${found.dependency}:${path}`, namespace: 'lazy', pluginData: found };
      });
      build.onLoad({ filter: /.*/, namespace: 'lazy' }, ({ pluginData: { builtin, known, callable } }) => ({
        contents: callable
          ? `const real = () => require(${JSON.stringify(builtin)});
module.exports = new Proxy(function assert(value, ...rest) { if (!value) real()(value, ...rest); }, {
  get: (_, name) => real()[name],
});`
          : `module.exports = new Proxy(${JSON.stringify(known)}, {
  get: (known, name) => (name in known ? known[name] : require(${JSON.stringify(builtin)})[name]),
});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * Built-in modules our ESM code imports that the bundle loads with require() instead: an ESM import
 * of a built-in reads every export to make its namespace, and node:http's lazy getters then load
 * Node's own copy of undici (~200 M instructions; require() reads only what is used). The trust
 * package's notary client imports it.
 */
const REQUIRED_BUILTINS = ['node:http'];

function requiredBuiltins() {
  return {
    name: 'required-builtins',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, ({ path, kind }) =>
        kind === 'import-statement' && REQUIRED_BUILTINS.includes(path)
          ? { path, namespace: 'required-builtin' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'required-builtin' }, ({ path }) => ({
        contents: `module.exports = require(${JSON.stringify(path)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * CommonJS packages that our packages import at the top of a module but call only in some
 * commands' work (tar-stream: reading and writing layer tars, not listing an image; picomatch:
 * the exclude and search filters). Evaluating them and what they require costs ~13 M instructions (list DIR)
 * at every start, so the bundle hands our ESM modules a stand-in that requires the package on the
 * first use of its default export (a call or a member).
 */
const LAZY_PACKAGES = ['tar-stream', 'picomatch'];

function lazyPackages() {
  const filter = new RegExp(`^(${LAZY_PACKAGES.join('|')})$`);
  return {
    name: 'lazy-packages',
    setup(build) {
      build.onResolve({ filter }, async ({ path, kind, resolveDir, namespace }) => {
        if (kind !== 'import-statement' || namespace !== 'file') return undefined;
        const real = await build.resolve(path, { kind: 'require-call', resolveDir });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: real.path, namespace: 'lazy-package' };
      });
      build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, ({ path }) => ({
        contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(path)}));
module.exports = new Proxy(function lazyPackage() {}, {
  get: (_, name) => (name === '__esModule' ? undefined : load()[name]),
  apply: (_, self, args) => load().apply(self, args),
});`,
        loader: 'js',
        resolveDir: dirname(path),
      }));
    },
  };
}

/**
 * Escapes the non-ASCII characters esbuild leaves in the output (in comments: `—`, `…`, a licence's
 * names; it escapes those in code itself) as `\uXXXX`, which means the same in code and comments.
 * V8 holds a source with a single such character as a two-byte string: twice the bytes to scan,
 * and Node's compile cache encodes the whole file back to UTF-8 to check it at every load
 * (all-ASCII chunks: list DIR ~10 M instructions fewer, a copy ~6 M).
 */
async function escapeNonAscii(dir) {
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.js'))) {
    const text = await readFile(join(dir, name), 'utf8');
    // Each UTF-16 unit: a character beyond U+FFFF becomes its two surrogates, as JavaScript escapes it.
    const ascii = text.replace(
      /[\u0080-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    if (ascii !== text) await writeFile(join(dir, name), ascii);
  }
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
  // Native addons with a package per platform, loaded with require() when xz is asked for, or an
  // unpacked layer has xattrs: dependencies of this package too, so that they resolve from dist/.
  external: ['@napi-rs/lzma', '@napi-rs/xattr'],
  // CommonJS dependencies (commander, cli-progress, undici) require() Node's built-in modules:
  // a require() for each file, made on its first call (most files never call it).
  banner: {
    js: [
      "import { createRequire as __concilCreateRequire } from 'node:module';",
      'let __concilRequire;',
      'function require(id) {',
      '  __concilRequire ??= __concilCreateRequire(import.meta.url);',
      '  return __concilRequire(id);',
      '}',
    ].join('\n'),
  },
  // CommonJS dependencies may name their own file (write-file-atomic hashes it into temporary names).
  define: { __filename: 'import.meta.filename', __dirname: 'import.meta.dirname' },
  plugins: [lazyBuiltins(), requiredBuiltins(), lazyPackages()],
  logLevel: 'warning',
  // CONCIL_BUNDLE_META=FILE writes esbuild's metafile: which modules went into which output file.
  metafile: process.env.CONCIL_BUNDLE_META !== undefined,
});
if (result.metafile) await writeFile(process.env.CONCIL_BUNDLE_META, JSON.stringify(result.metafile));
await escapeNonAscii(dist);

// `concil --help` printed from a file (help-text.ts): the help as the built command prints it.
const help = execFileSync(process.execPath, [join(dist, 'main.js'), '--help'], { encoding: 'utf8' });
await writeFile(join(dist, 'help.txt'), help);
