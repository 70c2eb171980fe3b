/**
 * The lading command line: `deno run -A cli.ts <command> ...`.
 * @module
 */
import { denoIO, main } from "./src/cli/main.ts";
import { errorLine } from "./src/cli/common.ts";

if (import.meta.main) {
  // An error nobody awaited (a stream failing after its reader gave up) is still one line
  // and exit 1, never a stack trace.
  const fatal = (e: unknown) => {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`lading: ${errorLine(e, Deno.env.get("LADING_DEBUG") === "1")}\n`),
    );
    Deno.exit(1);
  };
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    fatal(ev.reason);
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    fatal(ev.error);
  });
  Deno.exit(await main(Deno.args, denoIO()));
}
