// This module is browser compatible.
/**
 * Picks the runtime adapter by feature detection, with static imports only (bundlers and
 * `deno compile` follow every module): where the host has Node's built-in modules
 * (`process.getBuiltinModule`: Deno, Node ≥ 20.16) the `node:crypto`/`node:zlib` adapter,
 * everywhere else (browsers, workers) the web adapter. A browser bundle never loads a
 * `node:*` module.
 *
 * @example
 * ```ts
 * import { getRuntime } from "@lading/oci";
 * console.log((await getRuntime()).name); // deno
 * ```
 * @module
 */
import type { Runtime } from "./types.ts";
import { type NodeCryptoLike, nodeRuntime, type NodeZlibLike } from "./node.ts";

let cached: Promise<Runtime> | undefined;

interface HostGlobals {
  Deno?: { version?: { deno?: string } };
  process?: {
    versions?: { node?: string };
    getBuiltinModule?: (name: string) => unknown;
  };
}

/**
 * The adapter for this host: `deno`, `node` or `web`. The web adapter (hash-wasm, fflate,
 * fzstd) is loaded with a literal `import()` only where it is the one chosen, so a Deno or
 * Node process does not open those modules at start-up. In Deno, `node:crypto` and
 * `node:zlib` are fetched on first use only: the first touch of `process` loads Node's
 * compatibility layer (≈20–50 ms of start-up), which a command that hashes only small
 * documents (WebCrypto) never needs.
 */
async function detect(): Promise<Runtime> {
  const g = globalThis as HostGlobals;
  if (typeof g.Deno?.version?.deno === "string") {
    const builtin = (name: string) => {
      const m = g.process?.getBuiltinModule?.(name);
      if (!m) throw new TypeError(`this Deno has no ${name} (process.getBuiltinModule)`);
      return m;
    };
    return nodeRuntime({
      name: "deno",
      crypto: () => builtin("node:crypto") as NodeCryptoLike,
      zlib: () => builtin("node:zlib") as NodeZlibLike,
    });
  }
  const builtin = g.process?.getBuiltinModule;
  if (typeof builtin === "function") {
    const crypto = builtin("node:crypto") as NodeCryptoLike | undefined;
    const zlib = builtin("node:zlib") as NodeZlibLike | undefined;
    if (crypto && zlib) return nodeRuntime({ name: "node", crypto, zlib });
  }
  return (await import("./web.ts")).webRuntime;
}

/**
 * The runtime for this host, chosen once.
 *
 * @example
 * ```ts
 * import { getRuntime } from "@lading/oci";
 * const rt = await getRuntime();
 * const h = await rt.createHasher("sha256");
 * h.update(new TextEncoder().encode("abc"));
 * console.log(h.digest().slice(0, 8)); // ba7816bf
 * ```
 */
export function getRuntime(): Promise<Runtime> {
  cached ??= Promise.resolve().then(detect);
  return cached;
}

/**
 * Replaces the runtime chosen by {@link getRuntime} (tests, embedders).
 *
 * @example
 * ```ts
 * import { getRuntime, setRuntime, webRuntime } from "@lading/oci";
 * setRuntime(webRuntime);
 * console.log((await getRuntime()).name); // web
 * ```
 */
export function setRuntime(runtime: Runtime): void {
  cached = Promise.resolve(runtime);
}
