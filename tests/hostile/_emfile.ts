/**
 * Child of open_files_test.ts: runs the CLI (`main`, as cli.ts does) with only `free` file
 * descriptors left, so that EMFILE strikes at some point of the command.
 *
 * `deno run -A _emfile.ts <free> <warm-up store | -> <lading args...>`: with a warm-up store,
 * the same command runs there first (every module it loads is loaded), then descriptors
 * are used up (opening /dev/null until EMFILE), `free` of them closed again, and the
 * command runs for real.
 */
import { denoIO, exitOnUncaughtErrors, main } from "../../src/cli/main.ts";
import { prepareSignalHandling } from "../../src/deno/descriptors.ts";

prepareSignalHandling(); // as cli.ts does
const [freeArg, warm, ...args] = Deno.args;
exitOnUncaughtErrors();
if (warm !== "-") {
  const storeAt = args.indexOf("--store");
  const warmArgs = args.map((a, i) => (i === storeAt + 1 ? warm : a));
  const silent = { ...denoIO(), out: () => {}, err: () => {} };
  await main(warmArgs, silent);
}
const held: Deno.FsFile[] = [];
try {
  for (;;) held.push(Deno.openSync("/dev/null"));
} catch {
  // EMFILE: every descriptor is in use
}
for (let i = 0; i < Number(freeArg) && held.length; i++) held.pop()!.close();
Deno.exit(await main(args, denoIO()));
