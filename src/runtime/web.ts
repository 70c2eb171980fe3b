// This module is browser compatible.
/**
 * The browser runtime adapter: hash-wasm for incremental hashing, DecompressionStream
 * for gzip with fflate's streaming Gunzip as the multi-member fallback, fzstd for zstd,
 * fflate for gzip writing.
 *
 * @example
 * ```ts
 * import { webRuntime } from "./web.ts";
 * const h = await webRuntime.createHasher("sha256");
 * h.update(new Uint8Array(0));
 * console.log(h.digest().slice(0, 8)); // e3b0c442
 * ```
 * @module
 */
import { createSHA256, createSHA512 } from "hash-wasm";
import { Gunzip, Gzip } from "fflate";
import { Decompress as ZstdDecompress } from "fzstd";
import type { Hasher, Runtime } from "./types.ts";

/** Wraps a push-style fflate/fzstd decoder as a TransformStream. */
function fromPushDecoder(
  make: (
    emit: (data: Uint8Array, final: boolean) => void,
  ) => { push(chunk: Uint8Array, final?: boolean): void },
): TransformStream<Uint8Array, Uint8Array> {
  let decoder: { push(chunk: Uint8Array, final?: boolean): void };
  return new TransformStream({
    start(controller) {
      decoder = make((data) => {
        if (data.byteLength > 0) controller.enqueue(data);
      });
    },
    transform(chunk) {
      decoder.push(chunk, false);
    },
    flush() {
      decoder.push(new Uint8Array(0), true);
    },
  });
}

/** The browser runtime adapter. */
export const webRuntime: Runtime = {
  name: "web",
  async createHasher(algorithm): Promise<Hasher> {
    const h = algorithm === "sha256" ? await createSHA256() : await createSHA512();
    h.init();
    return {
      update(chunk: Uint8Array) {
        h.update(chunk);
      },
      digest() {
        return h.digest("hex");
      },
    };
  },
  gunzip() {
    // fflate's streaming Gunzip reads every member of a multi-member gzip.
    return fromPushDecoder((emit) => {
      const g = new Gunzip();
      g.ondata = (data, final) => emit(data, final);
      return g;
    });
  },
  zstdDecompress() {
    return fromPushDecoder((emit) => new ZstdDecompress((data, final) => emit(data, !!final)));
  },
  gzip(level = 6) {
    return fromPushDecoder((emit) => {
      const g = new Gzip({ level: level as 6 });
      g.ondata = (data, final) => emit(data, final);
      return g;
    });
  },
};
