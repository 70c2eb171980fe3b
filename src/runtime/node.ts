// This module is browser compatible.
/**
 * The runtime adapter for hosts with Node's built-in modules (Deno and Node ≥ 20):
 * `node:crypto` hashing and `node:zlib` (de)compression, the fastest options measured
 * (see ARCHITECTURE.md §4). The modules are passed in, not imported, so this file has no
 * `node:*` import and a browser bundle that includes it stays loadable: {@link getRuntime}
 * hands it the modules from `process.getBuiltinModule` when the host has them.
 *
 * zstd goes through `node:zlib` where it has a zstd decoder (Deno, Node ≥ 22.15), one
 * decoder per frame (`zstd_frames.ts`: node:zlib stops after the first frame), and
 * through fzstd elsewhere. Decoders are driven with backpressure (`outlet.ts`): memory
 * stays bounded whatever the compression ratio.
 *
 * @module
 */
import type { Decoder, Hasher, Runtime } from "./types.ts";
import { checkFrame, type FrameHasher, frameHasher, ZstdFrameSplitter } from "./zstd_frames.ts";
import { decoderPair } from "./outlet.ts";
import { InvalidInputError } from "../errors.ts";
import { oneShotDigest } from "./one_shot.ts";

/** The part of a Node zlib/transform stream this adapter uses. */
export interface NodeStreamLike {
  /** Output bytes. */
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  /** The end of the output. */
  on(event: "end", listener: () => void): unknown;
  /** A failure. */
  on(event: "error", listener: (e: unknown) => void): unknown;
  /** Room for more input. */
  once(event: "drain", listener: () => void): unknown;
  /** Adds input; false asks the caller to wait for `drain`. */
  write(chunk: Uint8Array, callback?: (e?: unknown) => void): boolean;
  /** Ends the input. */
  end(): unknown;
  /** Stops and frees the stream. */
  destroy(): unknown;
  /** Input bytes the engine consumed (Node's zlib streams; optional for other streams). */
  readonly bytesWritten?: number;
  /** Stops emitting `data`. */
  pause(): unknown;
  /** Emits `data` again. */
  resume(): unknown;
}

/** The part of `node:crypto` this adapter uses. */
export interface NodeCryptoLike {
  /** A new incremental hash (`sha256`, `sha512`). */
  createHash(algorithm: string): {
    update(chunk: Uint8Array): unknown;
    digest(encoding: "hex"): string;
  };
}

/** The part of `node:zlib` this adapter uses; the zstd functions are optional. */
export interface NodeZlibLike {
  /** A gzip decompressor (multi-member). */
  createGunzip(options?: { chunkSize?: number }): NodeStreamLike;
  /** A gzip compressor. */
  createGzip(options: { level: number }): NodeStreamLike;
  /** A zstd decompressor (Deno, Node ≥ 22.15). */
  createZstdDecompress?: (options?: { chunkSize?: number }) => NodeStreamLike;
  /** A zstd compressor (Deno, Node ≥ 22.15). */
  createZstdCompress?: (options?: { params?: Record<number, number> }) => NodeStreamLike;
  /** zlib's constants (`ZSTD_c_compressionLevel`). */
  constants?: Record<string, number>;
}

/** One Node zlib stream, its output sent to `emit`. */
class NodeCoder {
  #node: NodeStreamLike;
  #failure: unknown;
  #ended: Promise<void>;
  constructor(node: NodeStreamLike, emit: (chunk: Uint8Array) => void) {
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

/** A transformer with the `cancel` hook (not in every lib's typings yet). */
type CancellableTransformer = Transformer<Uint8Array, Uint8Array> & { cancel?(): void };

/** Wraps a Node transform (zlib) as a web TransformStream. */
function fromNodeTransform(make: () => NodeStreamLike): TransformStream<Uint8Array, Uint8Array> {
  let coder: NodeCoder;
  const transformer: CancellableTransformer = {
    start(controller) {
      coder = new NodeCoder(make(), (c) => controller.enqueue(c));
    },
    transform: (chunk) => coder.write(chunk),
    flush: () => coder.end(),
    cancel() {
      coder.destroy();
    },
  };
  return new TransformStream<Uint8Array, Uint8Array>(transformer);
}

/** A decoder error as an input error: one line that says which format and why. */
function decodeError(format: string, e: unknown): InvalidInputError {
  if (e instanceof InvalidInputError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new InvalidInputError(`the ${format} data is corrupt: ${why}`, { cause: e });
}

/** Output chunk size of the node:zlib decoders. */
const DECODE_CHUNK = 64 * 1024;

/**
 * A node:zlib decompressor driven with backpressure: its output goes to an {@link Outlet}
 * and the node stream is paused while the outlet is full, so zlib stops decoding (it keeps
 * at most its own small buffer) until the reader catches up — memory is bounded whatever
 * the ratio. With `frames`, a zstd stream is cut into frames, one decoder per frame
 * (node:zlib stops after the first), and each frame's checksum is verified here: Deno's
 * decoder throws a mismatch out of its event loop, where nobody can catch it.
 */
function nodeDecoder(format: string, make: () => NodeStreamLike, frames?: ZstdFrameSplitter) {
  return decoderPair((outlet) => {
    let node: NodeStreamLike | undefined;
    let frameHash: FrameHasher | undefined;
    let ended: Promise<void> = Promise.resolve();
    /** Input bytes given to the current node stream. */
    let given = 0;
    let rejectFailed!: (e: unknown) => void;
    const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
    failed.catch(() => {});
    const open = () => {
      const n = make();
      node = n;
      const hash = frameHash;
      n.on("data", (chunk: Uint8Array) => {
        hash?.update(chunk);
        outlet.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if (outlet.full) n.pause();
      });
      n.on("error", (e: unknown) => rejectFailed(decodeError(format, e)));
      ended = new Promise((resolve) => n.on("end", () => resolve()));
      return n;
    };
    const write = (piece: Uint8Array): Promise<void> => {
      const n = node ?? open();
      given += piece.byteLength;
      // zlib keeps the chunk queued after write() returns: give it its own copy.
      if (n.write(piece.slice())) return Promise.race([Promise.resolve(), failed]);
      return Promise.race([new Promise<void>((resolve) => n.once("drain", resolve)), failed]);
    };
    const end = async () => {
      const n = node ?? open();
      n.end();
      await Promise.race([ended, failed]);
      node = undefined;
      const consumed = n.bytesWritten;
      const skipped = typeof consumed === "number" ? given - consumed : 0;
      given = 0;
      if (skipped > 0) {
        throw new InvalidInputError(
          `the ${format} data is corrupt: ${skipped} byte${
            skipped === 1 ? "" : "s"
          } after the last member ${skipped === 1 ? "is" : "are"} not a ${format} member`,
        );
      }
    };
    return {
      async write(chunk) {
        if (!frames) return await write(chunk);
        for (const piece of frames.push(chunk)) {
          if (!node) frameHash = await frameHasher();
          if (piece.data.byteLength) await write(piece.data);
          if (piece.end) {
            await end();
            if (piece.checksum) checkFrame(frameHash!, piece.checksum);
          }
        }
      },
      async close() {
        if (frames) frames.finish();
        else await end();
      },
      abort() {
        node?.destroy();
        node = undefined;
      },
      resume() {
        node?.resume();
      },
    };
  });
}

/**
 * A decoder loaded on first use (a literal `import()`, followed by bundlers): the web
 * adapter's npm decoders stay unloaded in Deno and Node unless needed.
 */
function lazyDecoder(load: () => Promise<Decoder>): Decoder {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new TransformStream<Uint8Array, Uint8Array>();
  load().then((decoder) => input.readable.pipeThrough(decoder).pipeTo(output.writable)).catch(
    (e) => {
      output.writable.abort(e).catch(() => {});
      input.readable.cancel(e).catch(() => {});
    },
  );
  return { writable: input.writable, readable: output.readable };
}

/** What {@link nodeRuntime} is built from: Node's `crypto` and `zlib` modules (or Deno's). */
export interface NodeRuntimeModules {
  /**
   * `node:crypto` (only `createHash` is used), or a function that loads it on first use
   * (called at most once).
   */
  readonly crypto: NodeCryptoLike | (() => NodeCryptoLike);
  /** `node:zlib`, or a function that loads it on first use (called at most once). */
  readonly zlib: NodeZlibLike | (() => NodeZlibLike);
  /** The runtime's name in messages and benchmarks (default `node`). */
  readonly name?: string;
}

/** A module given as itself or as its loader: the module, loaded once on first use. */
function onFirstUse<T extends object>(given: T | (() => T)): () => T {
  if (typeof given !== "function") return () => given;
  let loaded: T | undefined;
  return () => (loaded ??= (given as () => T)());
}

/**
 * A runtime over Node's `crypto` and `zlib` modules (`getRuntime()` builds one wherever
 * they exist: Deno, Node ≥ 20.16). Given as loaders, the modules are loaded only when a
 * hasher or a (de)compressor is first asked for: documents are hashed with WebCrypto
 * ({@link Runtime.digest}), so a command that hashes only documents loads neither.
 *
 * @example
 * ```ts
 * import { createHash } from "node:crypto";
 * import * as zlib from "node:zlib";
 * import { nodeRuntime } from "@lading/oci";
 * const rt = nodeRuntime({ crypto: { createHash }, zlib });
 * const h = await rt.createHasher("sha256");
 * h.update(new Uint8Array(0));
 * console.log(h.digest().slice(0, 8)); // e3b0c442
 * ```
 */
export function nodeRuntime(modules: NodeRuntimeModules): Runtime {
  const { name = "node" } = modules;
  const crypto = onFirstUse(modules.crypto);
  const zlib = onFirstUse(modules.zlib);
  const createHasher = (algorithm: "sha256" | "sha512"): Promise<Hasher> => {
    const h = crypto().createHash(algorithm);
    return Promise.resolve({
      update(chunk: Uint8Array) {
        h.update(chunk);
      },
      digest() {
        return h.digest("hex");
      },
    });
  };
  return {
    name,
    createHasher,
    digest: (algorithm, bytes) => oneShotDigest(createHasher, algorithm, bytes),
    gunzip() {
      return nodeDecoder("gzip", () => zlib().createGunzip({ chunkSize: DECODE_CHUNK }));
    },
    zstdDecompress() {
      const z = zlib();
      if (!z.createZstdDecompress) {
        return lazyDecoder(async () => (await import("./web.ts")).fzstdDecompress());
      }
      return nodeDecoder(
        "zstd",
        () => z.createZstdDecompress!({ chunkSize: DECODE_CHUNK }),
        new ZstdFrameSplitter("zstd stream", { stripChecksum: true }),
      );
    },
    gzip(level = 6) {
      return fromNodeTransform(() => zlib().createGzip({ level }));
    },
    /** Present where node:zlib has a zstd compressor (Deno, Node ≥ 22.15): asks the module. */
    get zstd() {
      const z = zlib();
      const encode = z.createZstdCompress?.bind(z);
      if (!encode) return undefined;
      const levelParam = z.constants?.ZSTD_c_compressionLevel ?? 100;
      return (level = 3) => fromNodeTransform(() => encode({ params: { [levelParam]: level } }));
    },
  };
}
