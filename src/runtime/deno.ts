/**
 * The Deno runtime adapter: `node:crypto` hashing and `node:zlib` (de)compression, the
 * fastest options measured in Deno (see ARCHITECTURE.md §4).
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
import type { Hasher, Runtime } from "./types.ts";

/** Wraps a Node transform (zlib) as a web TransformStream without extra copies. */
function fromNodeTransform(
  make: () => zlib.Gunzip | zlib.Gzip | zlib.ZstdDecompress,
): TransformStream<Uint8Array, Uint8Array> {
  let node: ReturnType<typeof make>;
  let failure: unknown;
  let controllerRef: TransformStreamDefaultController<Uint8Array>;
  let ended: Promise<void>;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      controllerRef = controller;
      node = make();
      node.on("data", (chunk: Uint8Array) => {
        try {
          controllerRef.enqueue(
            new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
          );
        } catch (e) {
          failure ??= e;
        }
      });
      ended = new Promise((resolve, reject) => {
        node.on("end", () => resolve());
        node.on("error", (e: unknown) => {
          failure ??= e;
          reject(e);
        });
      });
      ended.catch(() => {});
    },
    transform(chunk) {
      if (failure) throw failure;
      return new Promise<void>((resolve, reject) => {
        // zlib keeps the chunk queued after write() returns: give it its own copy, so
        // callers may reuse their read buffers.
        const ok = node.write(chunk.slice(), (e) => (e ? reject(e) : undefined));
        if (ok) resolve();
        else node.once("drain", () => resolve());
        if (failure) reject(failure);
      });
    },
    async flush() {
      if (failure) throw failure;
      node.end();
      await ended;
      if (failure) throw failure;
    },
    cancel() {
      node.destroy();
    },
  });
}

/** The Deno runtime adapter. */
export const denoRuntime: Runtime = {
  name: "deno",
  createHasher(algorithm): Promise<Hasher> {
    const h = createHash(algorithm);
    return Promise.resolve({
      update(chunk: Uint8Array) {
        h.update(chunk);
      },
      digest() {
        return h.digest("hex");
      },
    });
  },
  gunzip() {
    return fromNodeTransform(() => zlib.createGunzip());
  },
  zstdDecompress() {
    return fromNodeTransform(() => zlib.createZstdDecompress());
  },
  gzip(level = 6) {
    return fromNodeTransform(() => zlib.createGzip({ level }));
  },
};
