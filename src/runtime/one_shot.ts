// This module is browser compatible.
/**
 * One-shot hashing of bytes already in memory (documents: indexes, manifests, configs)
 * with WebCrypto, which every host has built in: nothing to load first. A runtime's
 * streaming hasher may cost more to start than a small document costs to hash: Deno's
 * `node:crypto` loads Node's compatibility layer (tens of milliseconds at start-up), a
 * browser's hash-wasm compiles WebAssembly. WebCrypto copies its input and cannot stream,
 * so large inputs (and hosts without `crypto.subtle`, like a page served over plain http)
 * go to the runtime's hasher.
 *
 * @example
 * ```ts
 * import { oneShotDigest } from "./one_shot.ts";
 * import { webRuntime } from "./web.ts";
 * const hex = await oneShotDigest(webRuntime.createHasher, "sha256", new TextEncoder().encode("abc"));
 * console.log(hex.slice(0, 8)); // ba7816bf
 * ```
 * @module
 */
import { toHex } from "../digest.ts";
import type { Hasher } from "./types.ts";

/** Inputs up to this size are hashed with WebCrypto (above it, the streaming hasher). */
export const ONE_SHOT_MAX_BYTES = 16 * 1024 * 1024;

const WEB_NAMES = { sha256: "SHA-256", sha512: "SHA-512" } as const;

/**
 * The lowercase hex hash of `bytes`: WebCrypto when the host has it and the input is at
 * most {@link ONE_SHOT_MAX_BYTES}, else a hasher from `createHasher`.
 */
export async function oneShotDigest(
  createHasher: (algorithm: "sha256" | "sha512") => Promise<Hasher>,
  algorithm: "sha256" | "sha512",
  bytes: Uint8Array,
): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && bytes.byteLength <= ONE_SHOT_MAX_BYTES) {
    return toHex(
      new Uint8Array(await subtle.digest(WEB_NAMES[algorithm], bytes as Uint8Array<ArrayBuffer>)),
    );
  }
  const hasher = await createHasher(algorithm);
  hasher.update(bytes);
  return hasher.digest();
}
