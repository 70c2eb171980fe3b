// This module is browser compatible.
/**
 * Picks the runtime adapter by feature detection. Deno gets `node:crypto`/`node:zlib`,
 * everything else the web adapter. Both are loaded by dynamic import so a browser bundle
 * never pulls in `node:*`.
 *
 * @example
 * ```ts
 * import { getRuntime } from "./mod.ts";
 * console.log((await getRuntime()).name);
 * ```
 * @module
 */
import type { Runtime } from "./types.ts";

let cached: Promise<Runtime> | undefined;

/** The runtime for this host, chosen once. */
export function getRuntime(): Promise<Runtime> {
  cached ??= (async () => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    if (typeof g.Deno?.version?.deno === "string") {
      const mod = "./deno.ts";
      return (await import(mod)).denoRuntime as Runtime;
    }
    return (await import("./web.ts")).webRuntime;
  })();
  return cached;
}

/** Replaces the runtime chosen by {@link getRuntime} (tests, embedders). */
export function setRuntime(runtime: Runtime): void {
  cached = Promise.resolve(runtime);
}
