/**
 * The Deno runtime adapter with static `node:*` imports, for Deno-only code (the fs
 * store's hashing workers) that wants it without {@link getRuntime}'s detection.
 *
 * @example
 * ```ts
 * import { denoRuntime } from "./deno.ts";
 * const h = await denoRuntime.createHasher("sha256");
 * h.update(new Uint8Array(0));
 * console.log(h.digest().slice(0, 8)); // e3b0c442
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import * as zlib from "node:zlib";
import type { Runtime } from "./types.ts";
import { nodeRuntime } from "./node.ts";

/** The Deno runtime adapter. */
export const denoRuntime: Runtime = nodeRuntime({ name: "deno", crypto: { createHash }, zlib });
