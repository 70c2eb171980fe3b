// This module is browser compatible.
/**
 * The entries of one layer blob, whatever its compression: gzip (multi-member too), zstd
 * or plain tar, detected from the bytes (a disagreement with the media type is reported as
 * a warning; the bytes win). The uncompressed stream is hashed in the same pass for the
 * diff_id, and capped (a gzip bomb stops with a {@link LimitExceededError}). Nothing is
 * buffered: bodies stream, and a body that is not read is skipped.
 *
 * @example
 * ```ts
 * import { openLayer } from "@lading/oci/layers";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([{ header: { name: "./etc/motd", size: 3 }, body: "hi\n" }]);
 * const layer = await openLayer(new Blob([tar]).stream(), {
 *   mediaType: "application/vnd.oci.image.layer.v1.tar",
 * });
 * for await (const entry of layer) console.log(entry.path, entry.type, entry.size); // etc/motd file 3
 * const stats = await layer.finish();
 * console.log(stats.compression, stats.diffId?.slice(0, 7)); // none sha256:
 * ```
 * @module
 */
import type { Digest } from "../digest.ts";
import { shortDigest } from "../digest.ts";
import { InvalidInputError, LadingError, LimitExceededError } from "../errors.ts";
import { type Compression, layerCompression } from "../media_types.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Hasher, Runtime } from "../runtime/types.ts";
import type { BlobProvider } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { normalizeEntryPath, parseWhiteout, type Whiteout } from "./path.ts";
import { type TarHeader, TarReader } from "../tar.ts";
import { detectCompression } from "../compression.ts";
import { iteratorStream, peek } from "../streams.ts";

export { detectCompression };

export type { Compression } from "../media_types.ts";
export type { LayerEntryType } from "../tar.ts";

/** Default cap on the uncompressed bytes of one layer: 32 GiB. */
export const DEFAULT_MAX_LAYER_BYTES = 32 * 1024 * 1024 * 1024;

/** Options for {@link openLayer}. */
export interface OpenLayerOptions {
  /** The descriptor's media type; compared with what the bytes say. */
  readonly mediaType?: string;
  /** Hashing and decompression (default: detected). */
  readonly runtime?: Runtime;
  /** Cap on uncompressed bytes (default {@link DEFAULT_MAX_LAYER_BYTES}). */
  readonly maxLayerBytes?: number;
  /** Receives non-fatal findings (media type mismatch, missing end-of-archive marker). */
  readonly onWarning?: (message: string) => void;
  /** Label for messages, e.g. `layer 2 sha256:ab12…`. */
  readonly what?: string;
  /** Hash the uncompressed stream (default true); without it `diffId` is `undefined`. */
  readonly hash?: boolean;
}

/** One member of a layer. */
export interface LayerEntry extends TarHeader {
  /** Position in the layer, from 0. */
  readonly index: number;
  /** Normalized path: no leading `./` or `/`, `.` for the root. */
  readonly path: string;
  /** Set for `.wh.` entries: what the whiteout deletes or makes opaque. */
  readonly whiteout?: Whiteout;
  /** The body as a stream; only valid before the next entry is requested. */
  body(): ReadableStream<Uint8Array>;
  /** The body as chunks; only valid before the next entry is requested. */
  chunks(): AsyncGenerator<Uint8Array>;
}

/** What a full read of a layer found. */
export interface LayerStats {
  /** sha256 of the uncompressed tar (absent when hashing was turned off). */
  readonly diffId?: Digest;
  /** Compression detected from the bytes. */
  readonly compression: Compression;
  /** Bytes of the blob read. */
  readonly compressedSize: number;
  /** Bytes of the uncompressed tar. */
  readonly uncompressedSize: number;
  /** Number of members (whiteouts included). */
  readonly entries: number;
}

/**
 * A layer being read: iterate its entries, then call {@link LayerReader.finish} for the
 * diff_id and sizes. Made by {@link openLayer} or {@link openStoreLayer}.
 *
 * @example
 * ```ts
 * import { openLayer } from "@lading/oci/layers";
 * import { packTar } from "modern-tar";
 * import { gzipSync } from "fflate";
 * const tar = await packTar([
 *   { header: { name: "etc/motd", size: 3 }, body: "hi\n" },
 *   { header: { name: "tmp/.wh.cache", size: 0 } },
 * ]);
 * const layer = await openLayer(new Blob([gzipSync(tar)]).stream());
 * for await (const entry of layer) {
 *   if (entry.whiteout) console.log("deletes", entry.whiteout.path); // deletes tmp/cache
 *   else console.log(entry.path, await new Response(entry.body()).text()); // etc/motd hi
 * }
 * const stats = await layer.finish();
 * console.log(layer.compression, stats.entries, stats.uncompressedSize); // gzip 2 2560
 * ```
 */
export class LayerReader implements AsyncIterable<LayerEntry> {
  /** Compression detected from the bytes. */
  readonly compression: Compression;
  #tar: TarReader;
  #hasher?: Hasher;
  #what: string;
  #count = 0;
  #compressed: () => number;
  #uncompressed: () => number;
  #current = -1;
  #stats?: LayerStats;
  #compressionName: string;

  /** @internal use {@link openLayer}. */
  constructor(
    tar: TarReader,
    init: {
      compression: Compression;
      hasher?: Hasher;
      what: string;
      compressed: () => number;
      uncompressed: () => number;
    },
  ) {
    this.#tar = tar;
    this.compression = init.compression;
    this.#hasher = init.hasher;
    this.#what = init.what;
    this.#compressed = init.compressed;
    this.#uncompressed = init.uncompressed;
    this.#compressionName = init.compression === "none" ? "tar" : init.compression;
  }

  #wrap(e: unknown): unknown {
    if (e instanceof LadingError || e instanceof TypeError) return e;
    const message = e instanceof Error ? e.message : String(e);
    return new InvalidInputError(
      `${this.#what}: cannot read the ${this.#compressionName} stream: ${message}`,
      { cause: e },
    );
  }

  /** The next entry, or `undefined` after the last one. */
  async next(): Promise<LayerEntry | undefined> {
    let header: TarHeader | undefined;
    try {
      header = await this.#tar.next();
    } catch (e) {
      throw this.#wrap(e);
    }
    if (!header) {
      this.#done();
      return undefined;
    }
    const index = this.#count++;
    this.#current = index;
    let path: string;
    let whiteout: Whiteout | undefined;
    try {
      path = normalizeEntryPath(header.name, `${this.#what}: member`);
      whiteout = parseWhiteout(path);
    } catch (e) {
      await this.#tar.cancel(e);
      if (e instanceof InvalidInputError && !e.message.startsWith(this.#what)) {
        throw new InvalidInputError(`${this.#what}: ${e.message}`);
      }
      throw e;
    }
    const chunks = async function* (this: LayerReader): AsyncGenerator<Uint8Array> {
      while (this.#tar.bodyLeft > 0 || this.#current !== index) {
        if (this.#current !== index) {
          throw new TypeError(`body of ${path} read after moving to the next entry`);
        }
        let c: Uint8Array;
        try {
          c = await this.#tar.readBodyChunk();
        } catch (e) {
          await this.#tar.cancel(e);
          throw this.#wrap(e);
        }
        yield c;
      }
    }.bind(this);
    const body = () => iteratorStream(chunks());
    return { ...header, index, path, ...(whiteout ? { whiteout } : {}), body, chunks };
  }

  #done(): void {
    this.#stats ??= {
      ...(this.#hasher ? { diffId: `sha256:${this.#hasher.digest()}` as Digest } : {}),
      compression: this.compression,
      compressedSize: this.#compressed(),
      uncompressedSize: this.#uncompressed(),
      entries: this.#count,
    };
  }

  /** The layer's entries in tar order; a layer can be read once. */
  async *[Symbol.asyncIterator](): AsyncGenerator<LayerEntry> {
    while (true) {
      const e = await this.next();
      if (!e) return;
      yield e;
    }
  }

  /** Skips the remaining entries (hashing them) and returns the totals. */
  async finish(): Promise<LayerStats> {
    while (!this.#stats) await this.next();
    return this.#stats;
  }

  /** Stops reading (releases the blob). */
  cancel(reason?: unknown): Promise<void> {
    return this.#tar.cancel(reason);
  }
}

/**
 * Opens a layer blob for reading. Compression comes from the first bytes; when the media
 * type names another one, `onWarning` hears about it.
 *
 * @throws {InvalidInputError} on corrupt compression or tar; {LimitExceededError} past `maxLayerBytes`.
 *
 * @example
 * ```ts
 * import { openLayer } from "@lading/oci/layers";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([{ header: { name: "etc/motd", size: 2 }, body: "hi" }]);
 * for await (const entry of await openLayer(new Blob([tar]).stream())) console.log(entry.path); // etc/motd
 * ```
 */
export async function openLayer(
  blob: ReadableStream<Uint8Array>,
  options: OpenLayerOptions = {},
): Promise<LayerReader> {
  const runtime = options.runtime ?? await getRuntime();
  const what = options.what ?? "layer";
  const maxBytes = options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;
  let compressed = 0;
  const { head, stream } = await peek(blob, 4, (c) => (compressed += c.byteLength));
  const compression = detectCompression(head);
  if (options.mediaType !== undefined) {
    const declared = layerCompression(options.mediaType);
    if (declared !== undefined && declared !== compression) {
      options.onWarning?.(
        `${what}: media type ${options.mediaType} says ${declared}, the bytes are ${
          compression === "none" ? "an uncompressed tar" : compression
        }; reading them as ${compression === "none" ? "tar" : compression}`,
      );
    }
  }
  const tarStream = compression === "gzip"
    ? stream.pipeThrough(runtime.gunzip())
    : compression === "zstd"
    ? stream.pipeThrough(runtime.zstdDecompress())
    : stream;
  const hasher = options.hash === false ? undefined : await runtime.createHasher("sha256");
  let uncompressed = 0;
  const tar = new TarReader(tarStream, {
    what,
    onWarning: options.onWarning,
    onChunk: (chunk) => {
      uncompressed += chunk.byteLength;
      if (uncompressed > maxBytes) {
        throw new LimitExceededError(
          `${what} expands to more than ${maxBytes} bytes (${compressed} compressed bytes read so far); refusing it as a possible decompression bomb (raise the limit to read it)`,
        );
      }
      hasher?.update(chunk);
    },
  });
  return new LayerReader(tar, {
    compression,
    hasher,
    what,
    compressed: () => compressed,
    uncompressed: () => uncompressed,
  });
}

/**
 * Opens the layer a descriptor names, from a store.
 *
 * @example
 * ```ts
 * import { appendLayer, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * import { openStoreLayer } from "@lading/oci/layers";
 * const image = await resolveImage(store, "example.com/a:1");
 * for await (const e of await openStoreLayer(store, image.manifest.layers[0])) console.log(e.path); // etc, etc/motd
 * ```
 */
export async function openStoreLayer(
  store: BlobProvider,
  descriptor: Descriptor,
  options: OpenLayerOptions = {},
): Promise<LayerReader> {
  return openLayer(await store.reader(descriptor.digest), {
    mediaType: descriptor.mediaType,
    what: `layer ${shortDigest(descriptor.digest)}`,
    ...options,
  });
}
