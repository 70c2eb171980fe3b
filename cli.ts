/**
 * The lading command line: `deno run -A cli.ts <command> ...`.
 * @module
 */
import { denoIO, main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, denoIO()));
}
