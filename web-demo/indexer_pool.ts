// This module is browser compatible.
/**
 * A few layer indexing workers, one layer each at a time: the page's
 * worker hands them layer blobs as transferred streams and gets each layer's encoded file
 * index back, so that layers are decompressed in parallel (on as many cores as there
 * are, at most `size`) instead of one after the other in the page's worker. Where a
 * stream cannot be transferred or workers cannot start, the layer is indexed in this
 * thread.
 * @module
 */
import { shortDigest } from "../src/digest.ts";
import { encodeLayerIndex, indexLayer } from "../src/layers/layer_index_codec.ts";
import type { Descriptor } from "../src/types.ts";

/**
 * The name of an indexing worker: the page's worker script starts copies of itself with
 * this name, and those only serve {@link serveIndexer} (no second bundle to download).
 */
export const INDEXER_NAME = "lading-layer-indexer";

/** One layer to index. */
export interface IndexJob {
  readonly id: number;
  readonly layer: Descriptor;
  readonly stream: ReadableStream<Uint8Array>;
}

/** The answer: the encoded index, or why the blob could not be indexed. */
export type IndexReply =
  | { readonly id: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly error: string };

interface Slot {
  worker?: Worker;
  busy: boolean;
}

interface Pending {
  job: Omit<IndexJob, "id">;
  signal?: AbortSignal;
  onStart?: () => void;
  resolve: (bytes: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** Indexes layers in parallel workers. */
export class IndexerPool {
  #slots: Slot[];
  #make: () => Worker;
  #queue: Pending[] = [];
  #next = 1;

  /** `size` workers at most, each made by `make` when first needed. */
  constructor(size: number, make: () => Worker) {
    this.#slots = Array.from({ length: Math.max(1, size) }, () => ({ busy: false }));
    this.#make = make;
  }

  /**
   * The encoded index of `layer`, read from `stream` (which this call owns). Rejects with
   * the reason when the bytes are not a readable layer, or when `signal` aborts.
   * `onStart` is called when a worker (or this thread) starts reading the stream: jobs
   * wait in line while every worker is busy.
   */
  index(
    layer: Descriptor,
    stream: ReadableStream<Uint8Array>,
    options: { signal?: AbortSignal; onStart?: () => void } = {},
  ): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const { signal, onStart } = options;
      this.#queue.push({ job: { layer, stream }, signal, onStart, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.busy) continue;
      const p = this.#queue.shift();
      if (!p) return;
      if (p.signal?.aborted) {
        p.job.stream.cancel().catch(() => {});
        p.reject(p.signal.reason);
        continue;
      }
      slot.busy = true;
      p.onStart?.();
      this.#run(slot, p).then(p.resolve, p.reject).finally(() => {
        slot.busy = false;
        this.#pump();
      });
    }
  }

  async #run(slot: Slot, p: Pending): Promise<Uint8Array> {
    const { layer, stream } = p.job;
    let worker: Worker;
    try {
      worker = slot.worker ??= this.#make();
    } catch {
      return await indexHere(layer, stream);
    }
    const id = this.#next++;
    return await new Promise<Uint8Array>((resolve, reject) => {
      const stop = () => {
        // The worker is reading a stream it owns: end it, and start a new one next time.
        worker.terminate();
        if (slot.worker === worker) slot.worker = undefined;
        done();
        reject(p.signal!.reason);
      };
      const onMessage = (e: MessageEvent) => {
        const m = e.data as IndexReply;
        if (m.id !== id) return;
        done();
        if ("bytes" in m) resolve(m.bytes);
        else reject(new Error(m.error));
      };
      const onError = (e: ErrorEvent) => {
        e.preventDefault?.();
        worker.terminate();
        if (slot.worker === worker) slot.worker = undefined;
        done();
        reject(new Error(`the layer indexing worker failed: ${e.message}`));
      };
      const done = () => {
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", onError);
        p.signal?.removeEventListener("abort", stop);
      };
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", onError);
      p.signal?.addEventListener("abort", stop, { once: true });
      try {
        worker.postMessage({ id, layer, stream } satisfies IndexJob, [
          stream as unknown as Transferable,
        ]);
      } catch {
        // Streams are not transferable here: index in this thread.
        done();
        indexHere(layer, stream).then(resolve, reject);
      }
    });
  }

  /** Ends the workers. */
  close(): void {
    for (const slot of this.#slots) slot.worker?.terminate();
  }
}

/** Reads a layer and encodes its index (what each indexing worker does, or this thread). */
export async function indexHere(
  layer: Descriptor,
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  const index = await indexLayer(stream, {
    mediaType: layer.mediaType || undefined,
    what: `layer ${shortDigest(layer.digest)}`,
  });
  return encodeLayerIndex(layer, index);
}

/** Serves index jobs in an indexing worker (`scope` is its global). */
export function serveIndexer(scope: {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: IndexReply, transfer?: Transferable[]): void;
}): void {
  scope.onmessage = async (e: MessageEvent) => {
    const { id, layer, stream } = e.data as IndexJob;
    try {
      const bytes = await indexHere(layer, stream);
      scope.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
    }
  };
}
