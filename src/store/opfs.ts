// This module is browser compatible.
/**
 * A {@link Store} in the browser's Origin Private File System, in the same OCI image layout
 * as the filesystem store (`fs.ts`):
 *
 * ```
 * <path>/oci-layout                    {"imageLayoutVersion":"1.0.0"}
 * <path>/index.json                    one descriptor per name (ref.name + io.containerd.image.name)
 * <path>/blobs/<alg>/<hex>             verified before they appear
 * <path>/ingest/<owner>-<random>       in-flight writes, never read as content
 * <path>/leases/<owner>-<random>       digests protected from gc while an operation runs
 * <path>/index.json.tmp-<owner>-<rand> the next index.json, moved over it
 * ```
 *
 * ## Where it runs
 *
 * Anywhere OPFS exists, but it is meant for a **dedicated worker**: there blobs are written
 * through `createSyncAccessHandle()` (measured 525 MB/s, against 90 MB/s for
 * `createWritable()` on the main thread, which is the fallback it uses elsewhere). The web
 * page runs this store and the importer inside its worker and talks to the worker with
 * messages (see `src/web/protocol.ts`), so no store call crosses a `postMessage`.
 *
 * ## Writes, locks, leases
 *
 * - A blob is written to `ingest/`, hashed as it streams; `commit()` checks size and
 *   digest, then moves the file into `blobs/` with `FileSystemFileHandle.move()` (a copy
 *   where `move()` is missing), under a `navigator.locks` lock per digest, so `added` is
 *   exact when two writers race.
 * - index.json is rewritten whole into a temporary file and moved over the old one, under
 *   the store's writer lock (`navigator.locks`, shared by every tab and worker of the
 *   origin); {@link OpfsStore.exclusive} takes the same lock.
 * - Every open store holds an *owner* lock (`navigator.locks`) until {@link OpfsStore.close}
 *   or until its tab or worker goes away. Ingest files and leases carry their owner's id;
 *   those whose owner lock is no longer held are stale and removed on open (ingest) and by
 *   {@link OpfsStore.leasedDigests} (leases). Leases live in OPFS files, so a gc in another
 *   tab sees them.
 * - A `QuotaExceededError` from the browser aborts the write (its ingest file is removed)
 *   and surfaces as lading's {@link QuotaExceededError} with the usage and quota.
 *
 * @example
 * ```ts ignore
 * // In a dedicated worker:
 * import { openOpfsStore } from "@lading/oci/opfs";
 * import { writeBlob } from "@lading/oci";
 * const store = await openOpfsStore({ path: "example-module" });
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * console.log(await store.has(digest)); // true
 * await store.close();
 * ```
 * @module
 */
export type {
  OpfsDirectoryHandle,
  OpfsFileHandle,
  OpfsHandle,
  OpfsSyncAccessHandle,
  OpfsWritable,
  WebLocks,
} from "./opfs/dom.ts";
export { isQuotaError } from "./opfs/files.ts";
export {
  openOpfsStore,
  opfsRoot,
  OpfsStore,
  type OpfsStoreOptions,
  removeOpfsStore,
} from "./opfs/store.ts";
export { serveOpfsWriter } from "./opfs/helper_server.ts";
export { LAYER_CACHE_DIR, type OpfsLayerCache, opfsLayerCache } from "./opfs/layer_cache.ts";
export type { WorkerLike } from "./opfs/helper_client.ts";
export { LayoutNameRoles } from "./layout.ts";
export type { LayoutNames } from "./layout_index.ts";
