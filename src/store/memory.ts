// This module is browser compatible.
/**
 * An in-memory {@link Store}, for tests and small pages.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "./memory.ts";
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

/** A store that keeps everything in memory. */
export class MemoryStore implements Store {
  #blobs = new Map<Digest, Uint8Array>();
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
    return Promise.resolve({ digest, size: blob.byteLength });
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
    const part = blob.subarray(offset);
    return Promise.resolve(
      new ReadableStream({
        start(controller) {
          if (part.byteLength > 0) controller.enqueue(part.slice());
          controller.close();
        },
      }),
    );
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
        const all = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          all.set(c, at);
          at += c.byteLength;
        }
        this.#blobs.set(digest, all);
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
    for (const [digest, blob] of [...this.#blobs]) yield { digest, size: blob.byteLength };
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
