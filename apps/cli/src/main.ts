// The program of the concil command (started by concil.ts, which sets Node's flags).
// Commands import the packages they run on when they run: `concil squashfs` and `--help` never pay
// the tenth of a second the registry stack (undici, schemas) takes to load.
import { Command } from 'commander';
import { registerCache } from './commands/cache.js';
import { registerCatalog } from './commands/catalog.js';
import { registerConfig } from './commands/config.js';
import { registerCopy } from './commands/copy.js';
import { registerDelete } from './commands/delete.js';
import { registerDigest } from './commands/digest.js';
import { registerInspect } from './commands/inspect.js';
import { registerList } from './commands/list.js';
import { registerLogin } from './commands/login.js';
import { registerMount } from './commands/mount.js';
import { registerNotaryPublish } from './commands/notary-publish.js';
import { registerProcess } from './commands/process.js';
import { registerPublish } from './commands/publish.js';
import { registerPull } from './commands/pull.js';
import { registerSearch } from './commands/search.js';
import { registerSign } from './commands/sign.js';
import { registerSquashfs } from './commands/squashfs.js';
import { registerTag } from './commands/tag.js';
import { registerTags } from './commands/tags.js';
import { registerVerify } from './commands/verify.js';
import { printJson } from './output.js';
import { jsonRequested, reportError, usageErrorObject } from './report-error.js';
import { cliVersion } from './version.js';

const json = jsonRequested(process.argv.slice(2));

/** The width help is wrapped at, at most (narrower terminals get narrower help). */
const HELP_WIDTH = 80;

const program = new Command('concil')
  .description('OCI container images: copy, inspect, cache, convert to squashfs, sign and verify')
  .version(cliVersion(), '-V, --version', 'print the version of concil')
  .option('--debug', 'print the full cause chain of an error')
  .showHelpAfterError()
  .configureOutput({
    // Help wrapped at 80 columns at most, as the help text built with the command is (help-text.ts).
    getOutHelpWidth: () => Math.min(process.stdout.isTTY ? process.stdout.columns : HELP_WIDTH, HELP_WIDTH),
    getErrHelpWidth: () => Math.min(process.stderr.isTTY ? process.stderr.columns : HELP_WIDTH, HELP_WIDTH),
    // A usage error of a `--json` command is a JSON error object on stdout too.
    outputError: (text, write) => (json ? printJson({ error: usageErrorObject(text) }) : write(text)),
  });

/** Each command's names and what adds it; the order is that of the help. */
const COMMANDS: [names: string[], register: (program: Command) => void][] = [
  [['copy'], registerCopy],
  [['process'], registerProcess],
  [['search'], registerSearch],
  [['publish'], registerPublish],
  [['list'], registerList],
  [['inspect'], registerInspect],
  [['digest'], registerDigest],
  [['tags'], registerTags],
  [['catalog'], registerCatalog],
  [['tag'], registerTag],
  [['delete'], registerDelete],
  [['login', 'logout'], registerLogin],
  [['squashfs'], registerSquashfs],
  [['pull'], registerPull],
  [['cache'], registerCache],
  [['sign'], registerSign],
  [['verify'], registerVerify],
  [['notary-publish'], registerNotaryPublish],
  [['config'], registerConfig],
  [['mount', 'umount'], registerMount],
];

// Only the command the line names is added (building the others' options costs more than many a
// command's work); all of them for the help, `help CMD`, and a word that names none (suggestions).
const word = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const named = COMMANDS.filter(([names]) => word !== undefined && names.includes(word));
for (const [, register] of named.length > 0 ? named : COMMANDS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error, { debug: program.opts().debug === true, json });
}
