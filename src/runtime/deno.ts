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
import { ZstdFrameSplitter } from "./zstd_frames.ts";

type NodeZlib = zlib.Gunzip | zlib.Gzip | zlib.ZstdDecompress;

/** One Node zlib stream, its output sent to `emit`. */
class NodeCoder {
  #node: NodeZlib;
  #failure: unknown;
  #ended: Promise<void>;
  constructor(node: NodeZlib, emit: (chunk: Uint8Array) => void) {
    this.#node = node;
    node.on("data", (chunk: Uint8Array) => {
      try {
        emit(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (e) {
        this.#failure ??= e;
      }
    });
    this.#ended = new Promise((resolve, reject) => {
      node.on("end", () => resolve());
      node.on("error", (e: unknown) => {
        this.#failure ??= e;
        reject(e);
      });
    });
    this.#ended.catch(() => {});
  }
  write(chunk: Uint8Array): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      // zlib keeps the chunk queued after write() returns: give it its own copy, so
      // callers may reuse their read buffers.
      const ok = this.#node.write(chunk.slice(), (e) => (e ? reject(e) : undefined));
      if (ok) resolve();
      else this.#node.once("drain", () => resolve());
      if (this.#failure) reject(this.#failure);
    });
  }
  async end(): Promise<void> {
    if (this.#failure) throw this.#failure;
    this.#node.end();
    await this.#ended;
    if (this.#failure) throw this.#failure;
  }
  destroy(): void {
    this.#node.destroy();
  }
}

/** Wraps a Node transform (zlib) as a web TransformStream. */
function fromNodeTransform(make: () => NodeZlib): TransformStream<Uint8Array, Uint8Array> {
  let coder: NodeCoder;
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      coder = new NodeCoder(make(), (c) => controller.enqueue(c));
    },
    transform: (chunk) => coder.write(chunk),
    flush: () => coder.end(),
    cancel() {
      coder.destroy();
    },
  });
}

/**
 * zstd through node:zlib, one decoder per frame: Deno's decoder stops after the first
 * frame of a multi-frame stream (and then stalls), so frame boundaries are found here.
 */
function zstdFrames(): TransformStream<Uint8Array, Uint8Array> {
  const splitter = new ZstdFrameSplitter();
  let coder: NodeCoder | undefined;
  return new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      for (const piece of splitter.push(chunk)) {
        coder ??= new NodeCoder(zlib.createZstdDecompress(), (c) => controller.enqueue(c));
        if (piece.data.byteLength) await coder.write(piece.data);
        if (piece.end) {
          await coder.end();
          coder = undefined;
        }
      }
    },
    flush() {
      splitter.finish();
    },
    cancel() {
      coder?.destroy();
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
    return zstdFrames();
  },
  gzip(level = 6) {
    return fromNodeTransform(() => zlib.createGzip({ level }));
  },
};
