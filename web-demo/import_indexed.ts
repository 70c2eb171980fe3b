// This module is browser compatible.
/**
 * The page's import with layer indexing: every layer blob the import writes is indexed
 * from the bytes on their way to the store (a live feed to an indexing worker), while the
 * import goes on — not read back from OPFS after the import committed it. The first view
 * of the image then reads no layer.
 *
 * A live feed holds at most {@link FEED_BYTES} its worker has not taken yet: a write waits
 * for room while a worker reads the feed (it always makes progress), and a feed whose job
 * is still queued (every worker busy) past that is dropped instead — that layer is then
 * indexed from the store once committed, as are blobs whose first write was too short to
 * tell a layer. So memory stays bounded, and the import never waits on a blob that only
 * its own commit would end.
 *
 * An index counts only for a blob that was committed: its digest and size are known then
 * (the worker indexed it under {@link UNNAMED_LAYER}), and an aborted write's index is
 * dropped. Indexes are kept only when the import succeeds.
 * @module
 */
import { importImages, type ImportOptions, type ImportResult } from "../src/import/mod.ts";
import type { ImportSource } from "../src/import/source.ts";
import { decodeLayerIndex, encodeLayerIndex } from "../src/layers/layer_index_codec.ts";
import type { OpfsStore } from "../src/store/opfs.ts";
import type { BlobWriter, Store } from "../src/store/types.ts";
import type { Descriptor } from "../src/types.ts";
import type { Digest } from "../src/digest.ts";
import type { IndexerPool } from "./indexer_pool.ts";

/** Bytes a live feed may hold that its indexing worker has not read yet. */
export const FEED_BYTES = 16 * 1024 * 1024;

/** The descriptor a live feed's layer is indexed under until its commit names it. */
export const UNNAMED_LAYER: Descriptor = {
  mediaType: "",
  digest: `sha256:${"0".repeat(64)}`,
  size: 0,
};

/** The index bytes of {@link UNNAMED_LAYER} re-encoded for `layer` (undefined if unreadable). */
export function nameIndex(bytes: Uint8Array, layer: Descriptor): Uint8Array | undefined {
  const index = decodeLayerIndex(bytes, UNNAMED_LAYER);
  return index && encodeLayerIndex(layer, index);
}

/** True when the first bytes of a blob look like a layer: gzip, zstd or a tar header. */
export function looksLikeLayer(head: Uint8Array): boolean {
  if (head[0] === 0x1f && head[1] === 0x8b) return true;
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return true;
  return new TextDecoder().decode(head.subarray(257, 262)) === "ustar";
}

/** Whether the first write decides it: compression magic, or a whole tar header's magic. */
function decidable(first: Uint8Array): boolean {
  return first.byteLength >= 262 || looksLikeLayer(first);
}

/**
 * A blob's bytes on their way to an indexing worker: copies of the writes, in order, with
 * at most {@link FEED_BYTES} not yet read.
 */
export class LiveFeed {
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Resolves every write waiting for room (several may be in flight). */
  #wake?: () => void;
  #room?: Promise<void>;
  #ended = false;
  #dropped = false;
  /** Set once a worker reads the feed: from then on a full feed makes writes wait. */
  started = false;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c;
      },
      pull: () => this.#wake?.(),
      cancel: () => {
        this.#ended = true;
        this.#wake?.();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: FEED_BYTES }));
  }

  /** Given up because it filled up before a worker took it: index the blob otherwise. */
  get dropped(): boolean {
    return this.#dropped;
  }

  /**
   * Hands a copy of `chunk` on (the caller may reuse its buffer). Waits for room while a
   * worker reads the feed; a full feed nobody reads yet is dropped (false).
   */
  async push(chunk: Uint8Array): Promise<boolean> {
    if (this.#ended) return false;
    this.#controller.enqueue(chunk.slice());
    while (!this.#ended && (this.#controller.desiredSize ?? 1) <= 0) {
      if (!this.started) {
        this.#dropped = true;
        this.error(new Error("dropped: no indexing worker took it in time"));
        return false;
      }
      this.#room ??= new Promise<void>((resolve) =>
        this.#wake = () => {
          this.#room = this.#wake = undefined;
          resolve();
        }
      );
      await this.#room;
    }
    return !this.#ended;
  }

  /** The last byte was pushed. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.close();
  }

  /** The bytes will not be complete (the write was aborted, or the feed dropped). */
  error(reason: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.error(reason);
    this.#wake?.();
  }
}

/** What {@link observedStore} reports. */
export interface StoreWatch {
  /** Bytes accepted by a blob write. */
  onBytes?: (n: number) => void;
  /**
   * A blob write starts with these bytes, and they look like a layer: index it from this
   * stream (which closes after the last write, or errors if the write is abandoned).
   * Returns what is done once the blob is committed as `layer` (or undefined: index it
   * from the store then).
   */
  onLayerWrite?: (feed: LiveFeed) => (layer: Descriptor) => boolean;
  /** A blob that looks like a layer was committed without a live feed. */
  onLayerCommitted?: (layer: Descriptor) => void;
}

/**
 * The store, watched: every byte written to a blob is counted (after the write was
 * accepted), layer blobs are fed to `watch.onLayerWrite` as they are written, and a layer
 * committed without a usable feed is reported to `watch.onLayerCommitted`.
 */
export function observedStore(target: Store, watch: StoreWatch): Store {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === "writer") {
        return async (): Promise<BlobWriter> => {
          const w = await t.writer();
          let head = new Uint8Array(0);
          let size = 0;
          let feed: LiveFeed | undefined;
          let committed: ((layer: Descriptor) => boolean) | undefined;
          let first = true;
          const end = () => feed?.close();
          return Object.assign(Object.create(w), {
            write: async (chunk: Uint8Array) => {
              if (first && watch.onLayerWrite && chunk.byteLength && decidable(chunk)) {
                if (looksLikeLayer(chunk)) {
                  feed = new LiveFeed();
                  committed = watch.onLayerWrite(feed);
                }
              }
              if (chunk.byteLength) first = false;
              if (head.byteLength < 512) {
                const more = new Uint8Array(Math.min(512, head.byteLength + chunk.byteLength));
                more.set(head);
                more.set(chunk.subarray(0, more.byteLength - head.byteLength), head.byteLength);
                head = more;
              }
              // Copied for the feed before the write (the caller may reuse its buffer).
              const fed = feed?.push(chunk);
              try {
                await w.write(chunk);
              } catch (e) {
                feed?.error(e);
                throw e;
              }
              size += chunk.byteLength;
              watch.onBytes?.(chunk.byteLength);
              await fed;
            },
            commit: async (expected: { digest: Digest; size: number }) => {
              end();
              const r = await w.commit(expected);
              const layer: Descriptor = { mediaType: "", digest: expected.digest, size };
              const viaFeed = committed?.(layer) ?? false;
              if (!viaFeed && watch.onLayerCommitted && looksLikeLayer(head)) {
                watch.onLayerCommitted(layer);
              }
              return r;
            },
            abort: async (options?: { discard?: boolean }) => {
              feed?.error(new Error("the write was aborted"));
              return await w.abort(options);
            },
            ...(w.sha256
              ? {
                sha256: () => {
                  end(); // no writes after this
                  return w.sha256!();
                },
              }
              : {}),
          });
        };
      }
      const value = Reflect.get(t, prop, receiver);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

/** Options of {@link importIndexed}. */
export interface ImportIndexedOptions extends ImportOptions {
  /** Bytes accepted by blob writes. */
  readonly onBytes?: (n: number) => void;
  /** Reports indexing progress (bytes of the layers indexed, over their total). */
  readonly onIndexed?: (bytes: number, total: number) => void;
}

/**
 * Imports into `target` (the store or the scratch store) and indexes every layer blob it
 * adds in `indexers` while the import goes on (see the module doc); without `indexers`,
 * imports only. The indexes are kept only when the import succeeds.
 */
export async function importIndexed(
  target: Store & { readonly layerIndex: Pick<OpfsStore["layerIndex"], "putEncoded"> },
  source: ImportSource,
  indexers: IndexerPool | undefined,
  options: ImportIndexedOptions = {},
): Promise<ImportResult> {
  const jobs: Promise<[Descriptor, Uint8Array] | undefined>[] = [];
  const sizes: number[] = [];
  const stop = new AbortController();
  const { onBytes, onIndexed, ...importOptions } = options;
  const add = (layer: Descriptor, job: Promise<Uint8Array | undefined>) => {
    sizes.push(layer.size);
    jobs.push(
      job.then((bytes) => bytes && [layer, bytes] as [Descriptor, Uint8Array])
        // Not a layer after all (or unreadable): the first view reads it instead.
        .catch(() => undefined),
    );
  };
  const fromStore = (layer: Descriptor) =>
    add(
      layer,
      target.reader(layer.digest).then((stream) =>
        indexers!.index(layer, stream, { signal: stop.signal })
      ),
    );
  const watched = observedStore(target, {
    onBytes,
    onLayerWrite: indexers && ((feed) => {
      const job = indexers.index(UNNAMED_LAYER, feed.stream, {
        signal: stop.signal,
        onStart: () => feed.started = true,
      });
      job.catch(() => {}); // awaited once committed; dropped otherwise
      return (layer) => {
        if (feed.dropped) return false; // read from the store instead
        add(layer, job.then((bytes) => nameIndex(bytes, layer)));
        return true;
      };
    }),
    onLayerCommitted: indexers && fromStore,
  });
  let indexed: ([Descriptor, Uint8Array] | undefined)[] = [];
  try {
    const result = await importImages(watched, source, {
      ...importOptions,
      // Every blob is stored; the layers still being indexed are waited for before the
      // names are recorded, so that a cancel now still leaves nothing (the importer checks
      // the signal right after this and rolls back).
      beforeNaming: async () => {
        if (onIndexed && jobs.length) {
          const total = sizes.reduce((a, b) => a + b, 0);
          let done = 0;
          jobs.forEach((job, i) => job.then(() => onIndexed(done += sizes[i], total)));
        }
        const signal = importOptions.signal;
        if (signal?.aborted) return;
        const cancelled = new Promise<undefined>((resolve) =>
          signal?.addEventListener("abort", () => resolve(undefined), { once: true })
        );
        const all = await Promise.race([Promise.all(jobs), cancelled]);
        if (all) indexed = all;
      },
    });
    for (const job of indexed) if (job) await target.layerIndex.putEncoded(job[0], job[1]);
    return result;
  } finally {
    stop.abort(new DOMException("import ended", "AbortError"));
  }
}
