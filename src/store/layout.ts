// This module is browser compatible.
/**
 * What the filesystem and OPFS stores share about their OCI image layout: the blob file
 * names they accept, the temporary index.json prefix, the size and digest check of a
 * commit, the life of a blob writer ({@link LayoutBlobWriter}) and the name roles over
 * `index.json` ({@link LayoutNameRoles}).
 *
 * @example
 * ```ts
 * import { HEX_NAME } from "./layout.ts";
 * console.log(HEX_NAME.sha256.test("ab")); // false
 * ```
 * @module
 */
import {
  checkDigestAndSize,
  type Digest,
  type DigestAlgorithm,
  type Expectation,
  parseDigest,
} from "../digest.ts";
import { DigestMismatchError, SizeMismatchError } from "../errors.ts";
import type { Descriptor } from "../types.ts";
import type { LayoutNames } from "./layout_index.ts";
import type { ImageNames, ImageRecord, Lease } from "./types.ts";

/** The digest algorithms a layout store keeps blobs of (`blobs/<alg>/`). */
export const ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];

/** The file names a blob of each algorithm may have under `blobs/<alg>/`. */
export const HEX_NAME: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[0-9a-f]{64}$/,
  sha512: /^[0-9a-f]{128}$/,
};

/** The prefix of the next index.json, written whole and moved over the old one. */
export const INDEX_TMP_PREFIX = "index.json.tmp-";

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * What the fs and OPFS blob writers share: the life open → committing → done, a single
 * commit, writes refused after the end or after a failure (which is kept and repeated),
 * and an abort during a commit that waits for it (the commit cleans up after itself).
 */
export abstract class LayoutBlobWriter {
  /** open → committing → done. */
  protected state: "open" | "committing" | "done" = "open";
  /** Writes still running (the commit and an abort wait for them). */
  protected queue: Promise<void> = Promise.resolve();
  /** The first failure of a write: later writes and the commit fail with it. */
  protected failure: unknown;
  #committing?: Promise<unknown>;

  /** A rejection when no write may run now, else undefined. */
  protected refuseWrite(sha256Taken: boolean): Promise<never> | undefined {
    if (this.state !== "open") {
      return Promise.reject(new TypeError("Cannot write: the blob writer is already finished"));
    }
    if (this.failure) return Promise.reject(this.failure);
    if (sha256Taken) {
      return Promise.reject(new TypeError("Cannot write: sha256() was already taken"));
    }
    return undefined;
  }

  /** Verifies size and digest and makes the blob visible (see `BlobWriter.commit`). */
  commit(expected: Expectation): Promise<{ added: boolean }> {
    if (this.state !== "open") {
      return Promise.reject(new TypeError("Cannot commit: the blob writer is already finished"));
    }
    this.state = "committing";
    const run = this.commitWritten(expected);
    this.#committing = run.catch(() => {});
    return run;
  }

  /** The commit itself: waits for the queue, and discards the write whatever happens. */
  protected abstract commitWritten(expected: Expectation): Promise<{ added: boolean }>;

  /**
   * The first step of `abort()`: waits for a commit in progress, or for the running writes
   * of an open writer, which it marks done. True when the caller must now discard.
   */
  protected async abortStarts(): Promise<boolean> {
    if (this.#committing) {
      await this.#committing; // the commit cleans up after itself
      return false;
    }
    if (this.state === "done") return false;
    this.state = "done";
    await this.queue;
    return true;
  }
}

/**
 * A lease kept in a file of the layout's `leases/` (fs and OPFS): `add` checks the
 * digests, refuses once released and appends under the store's writer lock (so gc sees
 * every addition), `release` removes the file.
 */
export function fileLease(id: string, file: {
  /** Runs `fn` under the store's writer lock. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Appends digests to the lease file (called under the lock, never with none). */
  append(digests: readonly Digest[]): Promise<void>;
  /** Removes the lease file (quietly). */
  remove(): Promise<void>;
}): Lease {
  let released = false;
  return {
    id,
    add: async (digests) => {
      for (const d of digests) parseDigest(d);
      if (released) throw new TypeError(`lease ${id} was released`);
      if (digests.length === 0) return;
      await file.exclusive(() => file.append(digests));
    },
    release: async () => {
      released = true;
      await file.remove();
    },
  };
}

/**
 * The check of a commit: `expected` must be `{ digest, size }`; `written` bytes must be
 * `expected.size`, and `digestOf(algorithm)` (asked only when the size matches) must be
 * `expected.digest`. Returns the digest's algorithm and encoded part (checked before any
 * path is built).
 *
 * @throws {TypeError} for a malformed expectation; {SizeMismatchError} /
 *   {DigestMismatchError} whose message starts with `Cannot commit`.
 */
export async function checkCommit(
  expected: Expectation,
  written: number,
  digestOf: (algorithm: DigestAlgorithm) => Promise<string>,
): Promise<{ algorithm: DigestAlgorithm; encoded: string }> {
  if (!isObject(expected)) throw new TypeError("commit() needs { digest, size }");
  const { algorithm, encoded } = parseDigest(expected.digest);
  try {
    const actual = written === expected.size ? await digestOf(algorithm) : "";
    checkDigestAndSize(expected, actual, written);
  } catch (e) {
    if (e instanceof SizeMismatchError) {
      throw new SizeMismatchError(`Cannot commit ${e.message}`, e.expected, e.actual, {
        cause: e,
      });
    }
    if (e instanceof DigestMismatchError) {
      throw new DigestMismatchError(`Cannot commit ${e.message}`, e.expected, e.actual, {
        cause: e,
      });
    }
    throw e;
  }
  return { algorithm, encoded };
}

/**
 * The name roles of a layout store, over `index.json` (see `layoutImageNames` in
 * `layout_index.ts`): a store sets {@link LayoutNameRoles.names} in its constructor. The
 * base class of the fs and OPFS stores, so both name images the same way.
 *
 * @example
 * ```ts
 * import { LayoutNameRoles, openFsStore } from "@lading/oci/fs";
 * import { appendLayer, emptyImage, writeImage } from "@lading/oci";
 * const dir = await Deno.makeTempDir();
 * const store = await openFsStore(dir);
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "example.com/a:1" });
 * console.log(store instanceof LayoutNameRoles, (await store.listImages()).map((r) => r.name)); // true [ "example.com/a:1" ]
 * const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
 * console.log(index.manifests[0].annotations["org.opencontainers.image.ref.name"]); // example.com/a:1
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export abstract class LayoutNameRoles implements ImageNames {
  /** index.json's names, read and written by the store's own file operations. */
  protected abstract readonly names: LayoutNames;

  /** The record of one name. @throws {NotFoundError} */
  getImage(name: string): Promise<ImageRecord> {
    return this.names.getImage(name);
  }

  /**
   * All names, sorted. Entries of index.json without a name are skipped (and kept when
   * index.json is rewritten); `io.containerd.image.name` wins over
   * `org.opencontainers.image.ref.name`.
   */
  listImages(): Promise<ImageRecord[]> {
    return this.names.listImages();
  }

  /**
   * The top-level entries of index.json that have no name (an image another tool copied
   * in without a tag, e.g. `skopeo copy ... oci:<store>`), one per digest, in file order;
   * a digest that also has a name is left out (it is checked and listed under its name).
   * They are content like any other: `lading images check` checks them too.
   *
   * @example
   * ```ts
   * import { openFsStore } from "@lading/oci/fs";
   * const dir = await Deno.makeTempDir();
   * const store = await openFsStore(dir);
   * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
   * // What a tool that writes the layout without a tag leaves:
   * await Deno.writeTextFile(`${dir}/index.json`, JSON.stringify({
   *   schemaVersion: 2,
   *   manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest, size: 2 }],
   * }));
   * console.log((await store.listImages()).length, (await store.listUnnamedImages())[0].digest === digest); // 0 true
   * await store.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  listUnnamedImages(): Promise<Descriptor[]> {
    return this.names.unnamedEntries();
  }

  /** Inserts or replaces names in one atomic rewrite of index.json (under the writer lock). */
  putImages(records: readonly ImageRecord[]): Promise<void> {
    return this.names.putImages(records);
  }

  /**
   * Removes names in one atomic rewrite of index.json (under the writer lock).
   * @throws {NotFoundError} when one is absent; then nothing is removed.
   */
  deleteImages(names: readonly string[]): Promise<void> {
    return this.names.deleteImages(names);
  }
}
