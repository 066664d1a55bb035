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

const program = new Command('concil')
  .description('OCI container images: copy, inspect, cache, convert to squashfs, sign and verify')
  .version(cliVersion(), '-V, --version', 'print the version of concil')
  .option('--debug', 'print the full cause chain of an error')
  .showHelpAfterError()
  .configureOutput({
    // A usage error of a `--json` command is a JSON error object on stdout too.
    outputError: (text, write) => (json ? printJson({ error: usageErrorObject(text) }) : write(text)),
  });

registerCopy(program);
registerProcess(program);
registerSearch(program);
registerPublish(program);
registerList(program);
registerInspect(program);
registerDigest(program);
registerTags(program);
registerCatalog(program);
registerTag(program);
registerDelete(program);
registerLogin(program);
registerSquashfs(program);
registerPull(program);
registerCache(program);
registerSign(program);
registerVerify(program);
registerNotaryPublish(program);
registerConfig(program);
registerMount(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error, { debug: program.opts().debug === true, json });
}
