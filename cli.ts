/**
 * The lading command line: `deno run -A cli.ts <command> ...`.
 * @module
 */
import { denoIO, exitOnUncaughtErrors, main } from "./src/cli/main.ts";
import { prepareSignalHandling } from "./src/deno/descriptors.ts";

if (import.meta.main) {
  // While descriptors are plentiful: a Ctrl-C cleanup registered later needs none.
  prepareSignalHandling();
  exitOnUncaughtErrors();
  Deno.exit(await main(Deno.args, denoIO()));
}
