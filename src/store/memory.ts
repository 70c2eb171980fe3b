// This module is browser compatible.
/**
 * An in-memory {@link Store}, for tests and small pages.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * const store = new MemoryStore();
 * console.log((await store.listImages()).length); // 0
 * ```
 * @module
 */
import { checkDigestAndSize, type Digest, parseDigest } from "../digest.ts";
import { NotFoundError } from "../errors.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import type { BlobInfo, BlobWriter, ImageRecord, Lease, Store } from "./types.ts";

/**
 * A store that keeps everything in memory.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * const store = new MemoryStore();
 * console.log((await store.listImages()).length); // 0
 * ```
 */
export class MemoryStore implements Store {
  /** Blobs as the chunks they were written in: never concatenated (a 115 MB archive stays ~115 MB). */
  #blobs = new Map<Digest, StoredBlob>();
  #names = new Map<string, ImageRecord>();
  #leases = new Map<string, Set<Digest>>();
  #runtime?: Runtime;
  #nextLease = 0;
  #lock: Promise<void> = Promise.resolve();

  /** An empty store; `options.runtime` hashes what is written (default: detected). */
  constructor(options: { runtime?: Runtime } = {}) {
    this.#runtime = options.runtime;
  }

  has(digest: Digest): Promise<boolean> {
    try {
      parseDigest(digest);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(this.#blobs.has(digest));
  }

  info(digest: Digest): Promise<BlobInfo> {
    try {
      parseDigest(digest);
    } catch (e) {
      return Promise.reject(e);
    }
    const blob = this.#blobs.get(digest);
    if (!blob) return Promise.reject(new NotFoundError(`blob ${digest} not found`));
    return Promise.resolve({ digest, size: blob.size });
  }

  reader(digest: Digest, options: { offset?: number } = {}): Promise<ReadableStream<Uint8Array>> {
    try {
      parseDigest(digest);
    } catch (e) {
      return Promise.reject(e);
    }
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return Promise.reject(new TypeError(`offset must be a non-negative integer, got ${offset}`));
    }
    const blob = this.#blobs.get(digest);
    if (!blob) return Promise.reject(new NotFoundError(`blob ${digest} not found`));
    return Promise.resolve(chunkStream(blob, offset));
  }

  async writer(): Promise<BlobWriter> {
    const runtime = this.#runtime ?? await getRuntime();
    const chunks: Uint8Array[] = [];
    let size = 0;
    let done = false;
    let sha256: Digest | undefined;
    const hashers = new Map<string, Awaited<ReturnType<Runtime["createHasher"]>>>();
    hashers.set("sha256", await runtime.createHasher("sha256"));
    hashers.set("sha512", await runtime.createHasher("sha512"));
    return {
      write: (chunk) => {
        if (done) return Promise.reject(new TypeError("writer already finished"));
        chunks.push(chunk.slice());
        size += chunk.byteLength;
        for (const h of hashers.values()) h.update(chunk);
        return Promise.resolve();
      },
      commit: (expected) => {
        if (done) return Promise.reject(new TypeError("writer already finished"));
        done = true;
        const { algorithm } = parseDigest(expected.digest);
        const actual = algorithm === "sha256"
          ? (sha256 ??= `sha256:${hashers.get("sha256")!.digest()}` as Digest)
          : `${algorithm}:${hashers.get(algorithm)!.digest()}`;
        checkDigestAndSize(expected, actual, size);
        const digest = expected.digest as Digest;
        if (this.#blobs.has(digest)) return Promise.resolve({ added: false });
        this.#blobs.set(digest, { chunks: coalesce(chunks), size });
        return Promise.resolve({ added: true });
      },
      sha256: () => {
        sha256 ??= `sha256:${hashers.get("sha256")!.digest()}` as Digest;
        return Promise.resolve(sha256);
      },
      abort: () => {
        done = true;
        chunks.length = 0;
        return Promise.resolve();
      },
    };
  }

  delete(digest: Digest): Promise<void> {
    try {
      parseDigest(digest);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.#blobs.delete(digest)) {
      return Promise.reject(new NotFoundError(`blob ${digest} not found`));
    }
    return Promise.resolve();
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const [digest, blob] of [...this.#blobs]) yield { digest, size: blob.size };
  }

  /**
   * The record of `name`.
   * @throws {NotFoundError} when there is none.
   */
  getImage(name: string): Promise<ImageRecord> {
    const record = this.#names.get(name);
    if (!record) return Promise.reject(new NotFoundError(`image ${name} not found`));
    return Promise.resolve(record);
  }

  listImages(): Promise<ImageRecord[]> {
    return Promise.resolve(
      [...this.#names.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
  }

  putImages(records: readonly ImageRecord[]): Promise<void> {
    return this.exclusive(() => {
      for (const r of records) this.#names.set(r.name, r);
      return Promise.resolve();
    });
  }

  deleteImages(names: readonly string[]): Promise<void> {
    return this.exclusive(() => {
      for (const n of names) {
        if (!this.#names.has(n)) throw new NotFoundError(`image ${n} not found`);
      }
      for (const n of names) this.#names.delete(n);
      return Promise.resolve();
    });
  }

  lease(): Promise<Lease> {
    const id = `lease-${++this.#nextLease}`;
    const set = new Set<Digest>();
    this.#leases.set(id, set);
    return Promise.resolve({
      id,
      add: (digests) =>
        this.exclusive(() => {
          if (!this.#leases.has(id)) throw new TypeError(`lease ${id} was released`);
          for (const d of digests) set.add(parseDigest(d).digest);
          return Promise.resolve();
        }),
      release: () => {
        this.#leases.delete(id);
        return Promise.resolve();
      },
    });
  }

  leasedDigests(): Promise<Set<Digest>> {
    const all = new Set<Digest>();
    for (const set of this.#leases.values()) for (const d of set) all.add(d);
    return Promise.resolve(all);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(() => {}, () => {});
    return run;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A committed blob: its bytes in pieces, in order. */
interface StoredBlob {
  readonly chunks: readonly Uint8Array[];
  readonly size: number;
}

const PIECE = 1024 * 1024;

/** Small writes joined into pieces of about 1 MiB (fewer objects), large ones kept as they are. */
function coalesce(chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length === 1) out.push(pending[0]);
    else if (pending.length > 1) {
      const joined = new Uint8Array(pendingBytes);
      let at = 0;
      for (const p of pending) {
        joined.set(p, at);
        at += p.byteLength;
      }
      out.push(joined);
    }
    pending = [];
    pendingBytes = 0;
  };
  for (const c of chunks) {
    if (c.byteLength >= PIECE) {
      flush();
      out.push(c);
      continue;
    }
    pending.push(c);
    pendingBytes += c.byteLength;
    if (pendingBytes >= PIECE) flush();
  }
  flush();
  return out;
}

/** The blob's bytes from `offset`, one copy of one piece at a time (readers may keep them). */
function chunkStream(blob: StoredBlob, offset: number): ReadableStream<Uint8Array> {
  let index = 0;
  let skip = offset;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      while (index < blob.chunks.length) {
        const c = blob.chunks[index++];
        if (skip >= c.byteLength) {
          skip -= c.byteLength;
          continue;
        }
        const part = c.subarray(skip);
        skip = 0;
        controller.enqueue(part.slice());
        return;
      }
      controller.close();
    },
  }, { highWaterMark: 0 });
}
