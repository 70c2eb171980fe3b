// This module is browser compatible.
/**
 * Opening, the store itself (blobs, names, leases, locks) and removal of an OPFS store. See `../opfs.ts` for the layout and the locking rules.
 * @module
 */
import {
  type Digest,
  type DigestAlgorithm,
  isDigest,
  parseDigest,
  randomHex,
} from "../../digest.ts";
import { InvalidInputError, NotFoundError } from "../../errors.ts";
import { OCI_INDEX } from "../../media_types.ts";
import { getRuntime } from "../../runtime/mod.ts";
import type { Runtime } from "../../runtime/types.ts";
import {
  ALGORITHMS,
  fileLease,
  HEX_NAME,
  INDEX_TMP_PREFIX,
  isObject,
  LayoutNameRoles,
} from "../layout.ts";
import {
  emptyLayoutIndex,
  INDEX_LIMIT,
  layoutImageNames,
  type LayoutIndex,
  type LayoutNames,
  parseLayoutIndex,
  serializeLayoutIndex,
} from "../layout_index.ts";
import type { BlobInfo, BlobWriter, Lease, Store } from "../types.ts";
import {
  nav,
  type OpfsDirectoryHandle,
  type OpfsFileHandle,
  type OpfsSyncAccessHandle,
  type OpfsWritable,
  type WebLocks,
} from "./dom.ts";
import {
  dirOrUndefined,
  fileOrUndefined,
  isNotFound,
  mapQuota,
  moveFile,
  OWNED_NAME,
  readFileBytes,
  removeQuietly,
  syncHandlesAvailable,
  writeAll,
  writeSmallFile,
} from "./files.ts";
import { OffloadClient, type OffloadedWrite, type WorkerLike } from "./helper_client.ts";
import { OpfsBlobWriter } from "./writer.ts";
import { type OpfsLayerCache, opfsLayerCache } from "./layer_cache.ts";

/** Options for {@link openOpfsStore}. */
export interface OpfsStoreOptions {
  /** Folder inside the OPFS root, `/`-separated (default `lading`). */
  path?: string;
  /** The directory that holds `path` (default: `navigator.storage.getDirectory()`). */
  root?: OpfsDirectoryHandle;
  /** Hashing runtime (default: detected). */
  runtime?: Runtime;
  /**
   * Write blobs through sync access handles when possible (default true; they exist only
   * in dedicated workers). False forces `createWritable()`.
   */
  syncAccessHandles?: boolean;
  /** The Web Locks manager (default `navigator.locks`). */
  locks?: WebLocks;
  /**
   * Starts a helper worker running {@link serveOpfsWriter}. When given, blob bytes are
   * written there (sync access handle) in parallel with the caller's own work (an import
   * reads and parses), and the sha256 work is shared between the two threads: about twice
   * the import speed on two cores.
   */
  writerWorker?: () => WorkerLike;
}

/**
 * The OPFS root directory of this origin. @throws {TypeError} where there is no OPFS.
 *
 * @example
 * ```ts ignore
 * import { openOpfsStore, opfsRoot } from "@lading/oci/opfs";
 * const store = await openOpfsStore({ path: "example-root" });
 * const names: string[] = [];
 * for await (const [name] of (await opfsRoot()).entries()) names.push(name);
 * console.log(names.includes("example-root")); // true
 * await store.close();
 * ```
 */
export async function opfsRoot(): Promise<OpfsDirectoryHandle> {
  const getDirectory = nav().storage?.getDirectory;
  if (typeof getDirectory !== "function") {
    throw new TypeError(
      "This browser has no Origin Private File System (navigator.storage.getDirectory)",
    );
  }
  return await getDirectory.call(nav().storage);
}

export async function resolveDir(
  root: OpfsDirectoryHandle,
  path: string,
  create: boolean,
): Promise<OpfsDirectoryHandle | undefined> {
  let dir = root;
  for (const part of path.split("/").filter((p) => p !== "")) {
    if (part === "." || part === "..") throw new TypeError(`invalid OPFS store path ${path}`);
    if (create) dir = await dir.getDirectoryHandle(part, { create: true });
    else {
      const next = await dirOrUndefined(dir, part);
      if (!next) return undefined;
      dir = next;
    }
  }
  return dir;
}

/**
 * Opens (and creates when missing) a store in OPFS. Ingest files of stores that are no
 * longer open anywhere are removed.
 *
 * @throws {TypeError} where there is no OPFS or no `navigator.locks`.
 * @throws {InvalidInputError} when the folder is not empty and not an OCI layout.
 *
 * @example
 * ```ts ignore
 * // In a dedicated worker (blobs are written through sync access handles there):
 * import { appendLayer, emptyImage, listImageFiles, writeImage } from "@lading/oci";
 * import { openOpfsStore, removeOpfsStore } from "@lading/oci/opfs";
 * const store = await openOpfsStore({ path: "example-open" });
 * try {
 *   const draft = await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] });
 *   await writeImage(store, draft, { name: "example.com/a:1" });
 *   console.log(store.usesSyncAccessHandles, (await listImageFiles(store, "example.com/a:1")).length); // true 2
 * } finally {
 *   await store.close();
 *   await removeOpfsStore("example-open");
 * }
 * ```
 */
export async function openOpfsStore(options: OpfsStoreOptions = {}): Promise<OpfsStore> {
  const path = options.path ?? "lading";
  const locks = options.locks ?? nav().locks;
  if (!locks) throw new TypeError("This browser has no Web Locks API (navigator.locks)");
  const root = options.root ?? await opfsRoot();
  let dir: OpfsDirectoryHandle;
  try {
    dir = (await resolveDir(root, path, true))!;
  } catch (e) {
    throw await mapQuota(e, `create store ${path}`);
  }
  const key = `lading:${path}`;
  await locks.request(`${key}:writer`, {}, async () => {
    const layout = await fileOrUndefined(dir, "oci-layout");
    if (layout) {
      let doc: unknown;
      try {
        doc = JSON.parse(new TextDecoder().decode(await readFileBytes(layout, 4096, "oci-layout")));
      } catch {
        doc = undefined;
      }
      if (!isObject(doc) || typeof doc.imageLayoutVersion !== "string") {
        throw new InvalidInputError(
          `Cannot open store ${path}: oci-layout needs a string "imageLayoutVersion"`,
        );
      }
      return;
    }
    let empty = true;
    for await (const [name] of dir.entries()) {
      if (name !== "blobs" && name !== "ingest" && name !== "leases") empty = false;
    }
    if (!empty) {
      throw new InvalidInputError(
        `Cannot open store ${path}: the folder is not empty and not an OCI image layout`,
      );
    }
    const enc = new TextEncoder();
    try {
      await dir.getDirectoryHandle("blobs", { create: true }).then((b) =>
        b.getDirectoryHandle("sha256", { create: true })
      );
      if (!(await fileOrUndefined(dir, "index.json"))) {
        await writeSmallFile(
          dir,
          "index.json",
          enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })),
        );
      }
      await writeSmallFile(
        dir,
        "oci-layout",
        enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })),
      );
    } catch (e) {
      throw await mapQuota(e, `create store ${path}`);
    }
  });
  const store = new OpfsStore(dir, { ...options, path, locks });
  await store.start();
  return store;
}

/**
 * Removes a store folder from OPFS with everything in it (no-op when absent).
 *
 * @example
 * ```ts ignore
 * import { removeOpfsStore } from "@lading/oci/opfs";
 * await removeOpfsStore("lading-scratch");
 * ```
 */
export async function removeOpfsStore(
  path: string,
  options: { root?: OpfsDirectoryHandle } = {},
): Promise<void> {
  const root = options.root ?? await opfsRoot();
  const parts = path.split("/").filter((p) => p !== "");
  const last = parts.pop();
  if (!last) throw new TypeError("refusing to remove the OPFS root");
  const parent = await resolveDir(root, parts.join("/"), false);
  if (!parent) return;
  try {
    await parent.removeEntry(last, { recursive: true });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

// ---------------------------------------------------------------------------------------
// The store

/**
 * A store in an OPFS folder that is an OCI image layout. Create it with
 * {@link openOpfsStore}.
 *
 * `putImages`, `deleteImages`, `Lease.add` and {@link OpfsStore.exclusive} take the writer
 * lock; readers and blob writers never wait for it, and `delete()` does not take it, so gc
 * can call it inside `exclusive()`. Like the fs store, `fn` given to `exclusive()` must not
 * call the methods that take the lock.
 *
 * @example
 * ```ts ignore
 * import { collectGarbage, writeBlob } from "@lading/oci";
 * import { openOpfsStore, OpfsStore, removeOpfsStore } from "@lading/oci/opfs";
 * const store = await openOpfsStore({ path: "example-class" });
 * try {
 *   const bytes = new TextEncoder().encode("{}");
 *   const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 *   await writeBlob(store, bytes, { digest, size: 2 });
 *   console.log(store instanceof OpfsStore, store.path, await store.has(digest)); // true example-class true
 *   const gc = await collectGarbage(store); // no name reaches the blob: it goes
 *   console.log(gc.removed.length, await store.has(digest)); // 1 false
 * } finally {
 *   await store.close();
 *   await removeOpfsStore("example-class");
 * }
 * ```
 */
export class OpfsStore extends LayoutNameRoles implements Store {
  /** The folder path inside OPFS. */
  readonly path: string;
  /** Whether blobs are written through sync access handles. */
  readonly usesSyncAccessHandles: boolean;
  #dir: OpfsDirectoryHandle;
  #runtime?: Runtime;
  #locks: WebLocks;
  #key: string;
  #owner = randomHex(8);
  #releaseOwner?: () => void;
  #writers = new Set<OpfsBlobWriter>();
  #dirs = new Map<string, Promise<OpfsDirectoryHandle>>();
  #blobDirs = new Map<DigestAlgorithm, OpfsDirectoryHandle>();
  #closed = false;
  #makeWriterWorker?: () => WorkerLike;
  #offload?: OffloadClient;
  #layerIndex?: OpfsLayerCache;

  /** The names in index.json (shared logic with the fs store). */
  protected readonly names: LayoutNames;

  /** Use {@link openOpfsStore}. */
  constructor(
    dir: OpfsDirectoryHandle,
    options: OpfsStoreOptions & { path: string; locks: WebLocks },
  ) {
    super();
    this.#dir = dir;
    this.path = options.path;
    this.#runtime = options.runtime;
    this.#locks = options.locks;
    this.#key = `lading:${options.path}`;
    this.#makeWriterWorker = options.writerWorker;
    const g = globalThis as { DedicatedWorkerGlobalScope?: { new (): unknown } };
    this.usesSyncAccessHandles = (options.syncAccessHandles ?? true) &&
      typeof g.DedicatedWorkerGlobalScope === "function" &&
      globalThis instanceof g.DedicatedWorkerGlobalScope;
    this.names = layoutImageNames({
      where: this.path,
      read: () => this.#readIndex(),
      write: (doc) => this.#writeIndex(doc),
      exclusive: (fn) => this.exclusive(fn),
    });
  }

  /**
   * The file index of this store's layers (`lading-cache/layers/`, a folder the OCI layout
   * ignores): pass it as `layerIndex` to the layer readers so that a layer is read once.
   */
  get layerIndex(): OpfsLayerCache {
    return this.#layerIndex ??= opfsLayerCache(this.#dir);
  }

  /**
   * Takes the owner lock and removes stale ingest files (called by {@link openOpfsStore}).
   * The helper worker, when there is one, starts now, so that the first write does not
   * wait for it to load.
   */
  async start(): Promise<void> {
    if (this.#makeWriterWorker) this.#offload ??= new OffloadClient(this.#makeWriterWorker());
    await new Promise<void>((granted, failed) => {
      this.#locks.request(this.#ownerLock(this.#owner), {}, () => {
        granted();
        return new Promise<void>((resolve) => (this.#releaseOwner = resolve));
      }).catch(failed);
    });
    await this.#removeStale("ingest");
    const live = await this.#liveOwners();
    for await (const [name] of this.#dir.entries()) {
      if (!name.startsWith(INDEX_TMP_PREFIX)) continue;
      const m = OWNED_NAME.exec(name.slice(INDEX_TMP_PREFIX.length));
      if (m && !live.has(m[1])) await removeQuietly(this.#dir, name);
    }
  }

  #ownerLock(owner: string): string {
    return `${this.#key}:owner:${owner}`;
  }

  /** Owner ids whose lock is held by some live context of this origin. */
  async #liveOwners(): Promise<Set<string>> {
    const prefix = `${this.#key}:owner:`;
    const state = await this.#locks.query();
    const live = new Set<string>();
    for (const l of state.held ?? []) {
      if (l.name?.startsWith(prefix)) live.add(l.name.slice(prefix.length));
    }
    live.add(this.#owner);
    return live;
  }

  async #removeStale(sub: string): Promise<void> {
    const dir = await dirOrUndefined(this.#dir, sub);
    if (!dir) return;
    const live = await this.#liveOwners();
    const doomed: string[] = [];
    for await (const [name] of dir.entries()) {
      const m = OWNED_NAME.exec(name);
      if (m && !live.has(m[1])) doomed.push(name);
    }
    for (const name of doomed) await removeQuietly(dir, name);
  }

  #subdir(path: string): Promise<OpfsDirectoryHandle> {
    let p = this.#dirs.get(path);
    if (!p) {
      p = (async () => {
        let d = this.#dir;
        for (const part of path.split("/")) d = await d.getDirectoryHandle(part, { create: true });
        return d;
      })();
      p.catch(() => this.#dirs.delete(path));
      this.#dirs.set(path, p);
    }
    return p;
  }

  /**
   * `blobs/<algorithm>`, when it exists. Found once: OPFS handles name a path, so the
   * handle stays right even if the folder is removed and made again.
   */
  async #blobDir(algorithm: DigestAlgorithm): Promise<OpfsDirectoryHandle | undefined> {
    const known = this.#blobDirs.get(algorithm);
    if (known) return known;
    const dir = await dirOrUndefined(this.#dir, "blobs")
      .then((b) => (b ? dirOrUndefined(b, algorithm) : undefined));
    if (dir) this.#blobDirs.set(algorithm, dir);
    return dir;
  }

  async #blobHandle(digest: Digest): Promise<OpfsFileHandle | undefined> {
    const { algorithm, encoded } = parseDigest(digest);
    const dir = await this.#blobDir(algorithm);
    if (!dir) return undefined;
    return await fileOrUndefined(dir, encoded);
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError(`store ${this.path} is closed`);
  }

  // ----- ContentStore -----

  /** True when the blob is committed. @throws {InvalidInputError} for a malformed digest. */
  async has(digest: Digest): Promise<boolean> {
    return (await this.#blobHandle(digest)) !== undefined;
  }

  /** Size of a committed blob. @throws {NotFoundError} */
  async info(digest: Digest): Promise<BlobInfo> {
    const handle = await this.#blobHandle(digest);
    if (!handle) throw new NotFoundError(`blob ${digest} not found in store ${this.path}`);
    try {
      return { digest, size: (await handle.getFile()).size };
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(`blob ${digest} not found in store ${this.path}`);
      throw e;
    }
  }

  /** Streams a committed blob from `offset` (default 0). @throws {NotFoundError} */
  async reader(
    digest: Digest,
    options: { offset?: number } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const offset = options.offset ?? 0;
    parseDigest(digest);
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new TypeError(`reader offset must be a non-negative integer, got ${offset}`);
    }
    const handle = await this.#blobHandle(digest);
    if (!handle) throw new NotFoundError(`blob ${digest} not found in store ${this.path}`);
    let file: File;
    try {
      file = await handle.getFile();
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(`blob ${digest} not found in store ${this.path}`);
      throw e;
    }
    return file.slice(offset).stream() as ReadableStream<Uint8Array>;
  }

  /** Starts a write into `ingest/`; nothing is visible until `commit()` verified it. */
  async writer(): Promise<BlobWriter> {
    this.#checkOpen();
    const runtime = this.#runtime ?? await getRuntime();
    const hasher = await runtime.createHasher("sha256");
    const ingest = await this.#subdir("ingest");
    const name = `${this.#owner}-${randomHex(8)}`;
    let handle: OpfsFileHandle;
    let sync: OpfsSyncAccessHandle | undefined;
    let writable: OpfsWritable | undefined;
    let offload: OffloadedWrite | undefined;
    try {
      handle = await ingest.getFileHandle(name, { create: true });
      if (this.#makeWriterWorker) {
        this.#offload ??= new OffloadClient(this.#makeWriterWorker());
        offload = this.#offload.open(handle);
      } else if (
        this.usesSyncAccessHandles && typeof handle.createSyncAccessHandle === "function"
      ) {
        sync = await handle.createSyncAccessHandle();
      } else {
        writable = await handle.createWritable({ keepExistingData: false });
      }
    } catch (e) {
      await removeQuietly(ingest, name);
      throw await mapQuota(e, `start a blob write in store ${this.path}`);
    }
    const writer: OpfsBlobWriter = new OpfsBlobWriter({
      path: this.path,
      ingest,
      name,
      handle,
      sync,
      writable,
      offload,
      hasher,
      runtime,
      blobsDir: (alg) => this.#subdir(`blobs/${alg}`),
      commitLock: (digest, fn) => this.#locks.request(`${this.#key}:blob:${digest}`, {}, fn),
      done: () => this.#writers.delete(writer),
    });
    this.#writers.add(writer);
    return writer;
  }

  /** Removes a committed blob (without the writer lock). @throws {NotFoundError} */
  async delete(digest: Digest): Promise<void> {
    const { algorithm, encoded } = parseDigest(digest);
    const dir = await this.#blobDir(algorithm);
    const handle = dir ? await fileOrUndefined(dir, encoded) : undefined;
    if (!dir || !handle) throw new NotFoundError(`blob ${digest} not found in store ${this.path}`);
    try {
      await dir.removeEntry(encoded);
    } catch (e) {
      if (isNotFound(e)) throw new NotFoundError(`blob ${digest} not found in store ${this.path}`);
      throw e;
    }
  }

  /** Every committed blob: files in `blobs/<alg>/` whose names are digests. */
  async *list(): AsyncIterable<BlobInfo> {
    const blobs = await dirOrUndefined(this.#dir, "blobs");
    if (!blobs) return;
    for (const algorithm of ALGORITHMS) {
      const dir = await dirOrUndefined(blobs, algorithm);
      if (!dir) continue;
      const files: [string, OpfsFileHandle][] = [];
      for await (const [name, handle] of dir.entries()) {
        if (handle.kind === "file" && HEX_NAME[algorithm].test(name)) files.push([name, handle]);
      }
      for (const [name, handle] of files) {
        let size: number;
        try {
          size = (await handle.getFile()).size;
        } catch (e) {
          if (isNotFound(e)) continue; // deleted meanwhile
          throw e;
        }
        yield { digest: `${algorithm}:${name}` as Digest, size };
      }
    }
  }

  // ----- ImageNames (index.json, shared with the other layout store) -----

  async #readIndex(): Promise<LayoutIndex> {
    const handle = await fileOrUndefined(this.#dir, "index.json");
    if (!handle) return emptyLayoutIndex();
    const where = `${this.path}/index.json`;
    try {
      return parseLayoutIndex(await readFileBytes(handle, INDEX_LIMIT, where), where);
    } catch (e) {
      if (isNotFound(e)) return emptyLayoutIndex();
      throw e;
    }
  }

  async #writeIndex(doc: LayoutIndex): Promise<void> {
    const bytes = serializeLayoutIndex(doc);
    const tmp = `${INDEX_TMP_PREFIX}${this.#owner}-${randomHex(8)}`;
    try {
      const handle = await writeSmallFile(this.#dir, tmp, bytes);
      await moveFile(this.#dir, handle, this.#dir, "index.json");
    } catch (e) {
      await removeQuietly(this.#dir, tmp);
      throw await mapQuota(e, `write ${this.path}/index.json`);
    }
  }

  // ----- Leases and locking -----

  /** A new lease, persisted in `leases/<owner>-<random>`; release it when done. */
  async lease(): Promise<Lease> {
    this.#checkOpen();
    const dir = await this.#subdir("leases");
    const id = `${this.#owner}-${randomHex(8)}`;
    let handle: OpfsFileHandle;
    try {
      handle = await writeSmallFile(dir, id, new Uint8Array(0));
    } catch (e) {
      throw await mapQuota(e, `create lease ${id}`);
    }
    const digests = new Set<Digest>();
    const enc = new TextEncoder();
    /** Bytes in the lease file. */
    let length = 0;
    return fileLease(id, {
      exclusive: (fn) => this.exclusive(fn),
      append: async (more) => {
        const fresh = [...new Set(more)].filter((d) => !digests.has(d));
        if (fresh.length === 0) return;
        try {
          const lines = enc.encode(fresh.map((d) => `${d}\n`).join(""));
          if (syncHandlesAvailable(handle)) {
            // Appended, not flushed: a lease matters only while its owner lives.
            const sync = await handle.createSyncAccessHandle!();
            try {
              writeAll(sync, lines, length);
            } finally {
              sync.close();
            }
            length += lines.byteLength;
          } else {
            const all = enc.encode([...digests, ...fresh].map((d) => `${d}\n`).join(""));
            await writeSmallFile(dir, id, all);
            length = all.byteLength;
          }
        } catch (e) {
          throw await mapQuota(e, `add to lease ${id}`);
        }
        for (const d of fresh) digests.add(d);
      },
      remove: () => removeQuietly(dir, id),
    });
  }

  /** Digests of leases whose owner is alive; dead owners' leases are removed. */
  async leasedDigests(): Promise<Set<Digest>> {
    const all = new Set<Digest>();
    const dir = await dirOrUndefined(this.#dir, "leases");
    if (!dir) return all;
    const live = await this.#liveOwners();
    const files: [string, OpfsFileHandle][] = [];
    for await (const [name, handle] of dir.entries()) {
      if (handle.kind === "file") files.push([name, handle]);
    }
    for (const [name, handle] of files) {
      const m = OWNED_NAME.exec(name);
      if (!m) continue;
      if (!live.has(m[1])) {
        await removeQuietly(dir, name);
        continue;
      }
      let text: string;
      try {
        text = new TextDecoder().decode(await readFileBytes(handle, INDEX_LIMIT, `lease ${name}`));
      } catch (e) {
        if (isNotFound(e)) continue; // released meanwhile
        throw e;
      }
      for (const line of text.split("\n")) if (isDigest(line)) all.add(line);
    }
    return all;
  }

  /** Runs `fn` holding the store's writer lock (`navigator.locks`, origin-wide). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#locks.request(`${this.#key}:writer`, {}, () => fn());
  }

  /** Aborts open writes and releases the owner lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#writers]) await w.abort().catch(() => {});
    this.#offload?.terminate();
    this.#releaseOwner?.();
  }
}

/** An in-flight write into `ingest/`. */
