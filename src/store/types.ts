// This module is browser compatible.
/**
 * The store, split by role: immutable, verified blobs addressed by digest, plus the
 * image names that point into them. Implementations: `memory.ts`, `fs.ts` (Deno, an OCI
 * image layout on disk) and `opfs.ts` (browser).
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const bytes = new TextEncoder().encode("{}");
 * const { added } = await writeBlob(store, bytes, {
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * });
 * console.log(added); // true
 * ```
 * @module
 */
import type { Digest, Expectation } from "../digest.ts";
import type { Descriptor } from "../types.ts";

/** What the store knows about a committed blob. */
export interface BlobInfo {
  /** The blob's digest. */
  readonly digest: Digest;
  /** The blob's size in bytes. */
  readonly size: number;
}

/** An in-flight write. Nothing is visible until {@link BlobWriter.commit} verified it. */
export interface BlobWriter {
  /**
   * Bytes already in a resumed write (see {@link WriterOptions.resume}); 0 or absent for a
   * fresh one. The next `write` appends after them.
   */
  readonly offset?: number;
  /**
   * Appends bytes (hashed as they arrive). The caller may reuse `chunk`'s memory as soon
   * as the returned promise settles: a writer that keeps bytes longer copies them.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Checks size and digest, then makes the blob visible under its digest. When the blob
   * is already present the written bytes are discarded and `added` is false.
   *
   * @throws {SizeMismatchError} / {DigestMismatchError}; the write is discarded.
   */
  commit(expected: Expectation): Promise<{ added: boolean }>;
  /**
   * Discards the write. Safe to call after commit (then it does nothing). A resumable
   * write (see {@link WriterOptions.resume}) keeps its bytes for a later write of the same
   * digest unless `discard` is true.
   */
  abort(options?: { discard?: boolean }): Promise<void>;
  /**
   * The sha256 digest of everything written, for writers that hash as they go: callers
   * need not hash the same bytes a second time. Call after the last write.
   */
  sha256?(): Promise<Digest>;
}

/**
 * Protection from garbage collection for content an operation is writing or about to
 * name. gc treats every digest of every live lease as a root.
 */
export interface Lease {
  /** Identifier, unique within the store. */
  readonly id: string;
  /** Protects these digests (call before checking or writing them). */
  add(digests: readonly Digest[]): Promise<void>;
  /** Ends the protection (after names were recorded, or on failure). */
  release(): Promise<void>;
}

/**
 * Role: reads committed blobs. An archive, a layout, a store and a registry repository
 * can all be a provider (containerd's `content.Provider`, oras-go's `Fetcher`).
 */
export interface BlobProvider {
  /** True when the blob is committed. */
  has(digest: Digest): Promise<boolean>;
  /** Size of a committed blob. @throws {NotFoundError} */
  info(digest: Digest): Promise<BlobInfo>;
  /**
   * The bytes of a committed blob, from `offset` (default 0; a non-negative integer; at or
   * past the end gives an empty stream).
   * @throws {NotFoundError}; {TypeError} for a negative or fractional offset
   */
  reader(digest: Digest, options?: { offset?: number }): Promise<ReadableStream<Uint8Array>>;
  /**
   * Optional: reads a small committed blob whole, at most `maxBytes` of it (more is a
   * `LimitExceededError`), for providers that do it faster than through
   * {@link BlobProvider.reader} (the fs store: a Deno process that reads only documents
   * never loads the streams machinery, ~4 ms of start-up). Use `readBlobBytes()`.
   */
  readSmall?(digest: Digest, maxBytes: number): Promise<Uint8Array>;
}

/** Role: writes blobs, verified before they become visible (containerd's `Ingester`). */
export interface BlobIngester {
  /**
   * Starts a write under a temporary (ingest) name. With `resume` (the digest the write
   * is for), a store that can keep partial writes (the fs store) continues the bytes an
   * earlier, interrupted write of that digest left: {@link BlobWriter.offset} says how
   * many are there, and the caller writes the rest.
   */
  writer(options?: WriterOptions): Promise<BlobWriter>;
}

/** Options of {@link BlobIngester.writer}. */
export interface WriterOptions {
  /** Continue a partial write of this digest when the store kept one. */
  readonly resume?: Digest;
  /**
   * The size the blob is expected to have, when known (a hint: the fs store hashes a large
   * blob in a worker thread when it has some; nothing is checked against it before commit).
   */
  readonly size?: number;
}

/** Role: enumerates and removes committed blobs (containerd's content `Manager`). */
export interface BlobManager {
  /** Removes a committed blob. @throws {NotFoundError} */
  delete(digest: Digest): Promise<void>;
  /** Every committed blob (order unspecified). */
  list(): AsyncIterable<BlobInfo>;
}

/** Content-addressed blobs: every blob role together. */
export interface ContentStore extends BlobProvider, BlobIngester, BlobManager {}

/** An image name and the descriptor it points at. */
export interface ImageRecord {
  /** Full name, `docker.io/library/busybox:latest` or any string the user chose. */
  readonly name: string;
  /** The index or manifest the name points at. */
  readonly target: Descriptor;
}

/** Role: reads image names (oras-go's `Resolver`). */
export interface NameReader {
  /**
   * The record of `name`.
   * @throws {NotFoundError} when there is none.
   */
  getImage(name: string): Promise<ImageRecord>;
  /** All names, sorted by name. */
  listImages(): Promise<ImageRecord[]>;
  /**
   * Top-level entries that have no name (a layout store's index.json entries another
   * tool wrote without a tag): gc keeps what they reach, `images check` checks them.
   */
  listUnnamedImages?(): Promise<Descriptor[]>;
}

/** Role: records and removes image names (oras-go's `Tagger`). */
export interface NameWriter {
  /** Inserts or replaces these names in one atomic update. */
  putImages(records: readonly ImageRecord[]): Promise<void>;
  /** Removes these names in one atomic update. @throws {NotFoundError} if one is absent */
  deleteImages(names: readonly string[]): Promise<void>;
}

/** The names of images in a store: both name roles. */
export interface ImageNames extends NameReader, NameWriter {}

/**
 * Role: a place images can be read from: blobs plus names. A store, an archive or
 * layout opened read-only, and a registry repository are image sources.
 */
export type ImageSource = BlobProvider & NameReader;

/** Role: a place images can be written to: verified blob writes plus names. */
export type ImageTarget = BlobProvider & BlobIngester & NameWriter;

/** Role: gc protection and the writer lock. */
export interface Leases {
  /** A new lease; release it when the operation ends. */
  lease(): Promise<Lease>;
  /** Digests protected by live leases (dead processes' leases are ignored). */
  leasedDigests(): Promise<Set<Digest>>;
  /**
   * Runs `fn` while holding the store's writer lock: no name update and no lease
   * addition happens meanwhile (used by gc for mark and sweep).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** A store: every role (blobs, names, leases, the writer lock) plus close. */
export interface Store extends ContentStore, ImageNames, Leases {
  /** Releases resources (file handles, locks). */
  close(): Promise<void>;
}

/**
 * How blobs get hashed. The default (`streamHashing` in `check.ts`) reads the store's stream in
 * this thread; a store-specific one may hash several blobs at once elsewhere (the fs
 * store's worker pool, `deno/fs_hashing.ts`).
 */
export interface BlobHashing {
  /** How many blobs `verifyContent` hands out at once. */
  readonly concurrency: number;
  /**
   * The digest (in `digest`'s algorithm) and size of the committed blob `digest`, or
   * undefined when the store does not have it. `onBytes` gets the bytes as they are hashed.
   */
  hash(
    digest: Digest,
    onBytes?: (n: number) => void,
  ): Promise<{ digest: string; size: number } | undefined>;
}
