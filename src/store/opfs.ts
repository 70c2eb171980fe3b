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
 * import { openOpfsStore } from "./opfs.ts";
 * import { writeBlob } from "./blob.ts";
 * const store = await openOpfsStore({ path: "lading" });
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * console.log(await store.has(digest)); // true
 * await store.close();
 * ```
 * @module
 */
import {
  checkDigestAndSize,
  type Digest,
  type DigestAlgorithm,
  type Expectation,
  isDigest,
  parseDigest,
  randomHex,
  toHex,
} from "../digest.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  IoError,
  NotFoundError,
  QuotaExceededError,
  SizeMismatchError,
  WorkerError,
} from "../errors.ts";
import { formatBytes } from "../format.ts";
import { OCI_INDEX } from "../media_types.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Hasher, Runtime } from "../runtime/types.ts";
import type { BlobInfo, BlobWriter, ImageNames, ImageRecord, Lease, Store } from "./types.ts";
import {
  emptyLayoutIndex,
  INDEX_LIMIT,
  layoutImageNames,
  type LayoutIndex,
  parseLayoutIndex,
  serializeLayoutIndex,
} from "./layout_index.ts";

// ---------------------------------------------------------------------------------------
// The parts of the File System Access / OPFS and Web Locks APIs this module uses, typed
// here so the module type-checks with Deno's libs and with the DOM libs alike.

/** A file or directory handle. */
export interface OpfsHandle {
  /** `file` or `directory`. */
  readonly kind: "file" | "directory";
  /** The entry's name. */
  readonly name: string;
}

/** `FileSystemSyncAccessHandle` (dedicated workers only). */
export interface OpfsSyncAccessHandle {
  /** Writes at `at` (default: the current position); returns the bytes written. */
  write(buffer: Uint8Array, options?: { at?: number }): number;
  /** Reads at `at`; returns the bytes read. */
  read(buffer: Uint8Array, options?: { at?: number }): number;
  /** Cuts or extends the file to `size` bytes. */
  truncate(size: number): void;
  /** The file's size. */
  getSize(): number;
  /** Persists what was written. */
  flush(): void;
  /** Releases the handle. */
  close(): void;
}

/** `FileSystemWritableFileStream`, the parts used. */
export interface OpfsWritable {
  /** Appends bytes. */
  write(data: Uint8Array): Promise<void>;
  /** Commits what was written. */
  close(): Promise<void>;
  /** Discards what was written. */
  abort(reason?: unknown): Promise<void>;
}

/** `FileSystemFileHandle`. */
export interface OpfsFileHandle extends OpfsHandle {
  /** Always `file`. */
  readonly kind: "file";
  /** The file's current contents. */
  getFile(): Promise<File>;
  /** A writable stream (main thread). */
  createWritable(options?: { keepExistingData?: boolean }): Promise<OpfsWritable>;
  /** A synchronous access handle (dedicated workers). */
  createSyncAccessHandle?(): Promise<OpfsSyncAccessHandle>;
  /** Moves the file (where supported). */
  move?(destination: OpfsDirectoryHandle, name: string): Promise<void>;
}

/** `FileSystemDirectoryHandle`. */
export interface OpfsDirectoryHandle extends OpfsHandle {
  /** Always `directory`. */
  readonly kind: "directory";
  /** A subdirectory, created on request. */
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectoryHandle>;
  /** A file, created on request. */
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  /** Removes an entry. */
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  /** The entries. */
  entries(): AsyncIterable<[string, OpfsFileHandle | OpfsDirectoryHandle]>;
}

/** `LockManager` (`navigator.locks`). */
export interface WebLocks {
  /** Runs `callback` holding the lock `name`. */
  request<T>(
    name: string,
    options: { mode?: "exclusive" | "shared"; ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
  /** The locks held and waited for. */
  query(): Promise<{ held?: { name?: string }[]; pending?: { name?: string }[] }>;
}

interface NavigatorLike {
  storage?: {
    getDirectory?(): Promise<OpfsDirectoryHandle>;
    estimate?(): Promise<{ usage?: number; quota?: number }>;
  };
  locks?: WebLocks;
}

function nav(): NavigatorLike {
  return (globalThis as { navigator?: NavigatorLike }).navigator ?? {};
}

// ---------------------------------------------------------------------------------------
// Helpers

const ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];
const HEX_NAME: Record<DigestAlgorithm, RegExp> = {
  sha256: /^[0-9a-f]{64}$/,
  sha512: /^[0-9a-f]{128}$/,
};
const INDEX_TMP_PREFIX = "index.json.tmp-";
/**
 * `<owner>-<random>`: names of ingest, lease and temporary index files (with Chromium's
 * `.crswap` swap file of a `createWritable()` in progress).
 */
const OWNED_NAME = /^([0-9a-f]{16})-[0-9a-f]+(?:\.crswap)?$/;
const COPY_CHUNK = 1 << 20;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function domName(e: unknown): string | undefined {
  return typeof (e as { name?: unknown })?.name === "string"
    ? (e as { name: string }).name
    : undefined;
}

function isNotFound(e: unknown): boolean {
  const n = domName(e);
  return n === "NotFoundError" || n === "TypeMismatchError";
}

/** True for the browser's quota error (a `DOMException` named `QuotaExceededError`). */
export function isQuotaError(e: unknown): boolean {
  return domName(e) === "QuotaExceededError" && !(e instanceof QuotaExceededError);
}

/** Maps the browser's quota error to {@link QuotaExceededError}; others are returned as is. */
async function mapQuota(e: unknown, what: string): Promise<unknown> {
  if (!isQuotaError(e)) return e;
  let detail = "";
  try {
    const est = await nav().storage?.estimate?.();
    if (est?.quota !== undefined) {
      detail = ` (${formatBytes(est.usage ?? 0, { binary: true })} used of ${
        formatBytes(est.quota, { binary: true })
      })`;
    }
  } catch {
    // no estimate
  }
  return new QuotaExceededError(
    `Cannot ${what}: the browser's storage quota for this site is used up${detail}; ` +
      `delete images and run gc, or allow the site more storage`,
    { cause: e },
  );
}

async function removeQuietly(dir: OpfsDirectoryHandle, name: string): Promise<void> {
  try {
    await dir.removeEntry(name);
  } catch {
    // gone already, or in use by another context
  }
}

async function fileOrUndefined(
  dir: OpfsDirectoryHandle,
  name: string,
): Promise<OpfsFileHandle | undefined> {
  try {
    return await dir.getFileHandle(name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function dirOrUndefined(
  dir: OpfsDirectoryHandle,
  name: string,
): Promise<OpfsDirectoryHandle | undefined> {
  try {
    return await dir.getDirectoryHandle(name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Reads a whole file, retrying when it was replaced while being read. */
async function readFileBytes(handle: OpfsFileHandle, limit: number, what: string) {
  for (let attempt = 0;; attempt++) {
    try {
      const file = await handle.getFile();
      if (file.size > limit) {
        throw new InvalidInputError(
          `Cannot read ${what}: ${file.size} bytes, more than the ${limit}-byte limit`,
        );
      }
      return new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      if (domName(e) === "NotReadableError" && attempt < 5) continue;
      throw e;
    }
  }
}

/**
 * Largest piece handed to one `FileSystemSyncAccessHandle.write()`. Measured in Chromium
 * here: 144 MB written in 1 MiB pieces take 50-80 ms, in 4 MiB pieces 120-500 ms.
 */
const WRITE_PIECE = 1024 * 1024;

/** Writes all of `bytes` at `at` through a sync access handle, in {@link WRITE_PIECE}s. */
function writeAll(sync: OpfsSyncAccessHandle, bytes: Uint8Array, at: number): void {
  for (let done = 0; done < bytes.byteLength;) {
    const end = Math.min(bytes.byteLength, done + WRITE_PIECE);
    done += sync.write(bytes.subarray(done, end), { at: at + done });
  }
}

/** Whether sync access handles can be used here (dedicated worker with OPFS). */
function syncHandlesAvailable(handle: OpfsFileHandle): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; DedicatedWorkerGlobalScope?: unknown };
  return typeof handle.createSyncAccessHandle === "function" &&
    typeof g.DedicatedWorkerGlobalScope !== "undefined" &&
    globalThis instanceof (g.DedicatedWorkerGlobalScope as { new (): unknown });
}

/** Writes a small file whole (sync handle in a worker, writable stream elsewhere). */
async function writeSmallFile(
  dir: OpfsDirectoryHandle,
  name: string,
  bytes: Uint8Array,
): Promise<OpfsFileHandle> {
  const handle = await dir.getFileHandle(name, { create: true });
  if (syncHandlesAvailable(handle)) {
    const sync = await handle.createSyncAccessHandle!();
    try {
      sync.truncate(0);
      writeAll(sync, bytes, 0);
      sync.flush();
    } finally {
      sync.close();
    }
  } else {
    const w = await handle.createWritable({ keepExistingData: false });
    try {
      await w.write(bytes);
      await w.close();
    } catch (e) {
      await w.abort().catch(() => {});
      throw e;
    }
  }
  return handle;
}

/** Moves a file into `dir/name`: `move()` where supported, else a copy and a delete. */
async function moveFile(
  from: OpfsDirectoryHandle,
  handle: OpfsFileHandle,
  to: OpfsDirectoryHandle,
  name: string,
): Promise<void> {
  if (typeof handle.move === "function") {
    await handle.move(to, name);
    return;
  }
  const file = await handle.getFile();
  const target = await to.getFileHandle(name, { create: true });
  const w = await target.createWritable({ keepExistingData: false });
  try {
    for (let at = 0; at < file.size; at += COPY_CHUNK) {
      await w.write(new Uint8Array(await file.slice(at, at + COPY_CHUNK).arrayBuffer()));
    }
    await w.close();
  } catch (e) {
    await w.abort().catch(() => {});
    await removeQuietly(to, name);
    throw e;
  }
  await removeQuietly(from, handle.name);
}

// ---------------------------------------------------------------------------------------
// Opening

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

/** The parts of a `Worker` (or `MessagePort`) the offloaded writer uses. */
export interface WorkerLike {
  /** Sends a message. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Receives messages. */
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  /** The worker failed (its script did not load, or threw): writes fail instead of waiting. */
  addEventListener(type: "error", listener: (e: { message?: string }) => void): void;
  /** Called by {@link OpfsStore.close} when present. */
  terminate?(): void;
}

/** The OPFS root directory of this origin. @throws {TypeError} where there is no OPFS. */
export async function opfsRoot(): Promise<OpfsDirectoryHandle> {
  const getDirectory = nav().storage?.getDirectory;
  if (typeof getDirectory !== "function") {
    throw new TypeError(
      "This browser has no Origin Private File System (navigator.storage.getDirectory)",
    );
  }
  return await getDirectory.call(nav().storage);
}

async function resolveDir(
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
 * import { removeOpfsStore } from "./opfs.ts";
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
 */
export class OpfsStore implements Store {
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

  /** The names in index.json (shared logic with the fs store). */
  #names: ImageNames;

  /** Use {@link openOpfsStore}. */
  constructor(
    dir: OpfsDirectoryHandle,
    options: OpfsStoreOptions & { path: string; locks: WebLocks },
  ) {
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
    this.#names = layoutImageNames({
      where: this.path,
      read: () => this.#readIndex(),
      write: (doc) => this.#writeIndex(doc),
      exclusive: (fn) => this.exclusive(fn),
    });
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

  /** The record of one name. @throws {NotFoundError} */
  getImage(name: string): Promise<ImageRecord> {
    return this.#names.getImage(name);
  }

  /**
   * All names, sorted. Entries of index.json without a name are skipped (and kept when
   * index.json is rewritten); `io.containerd.image.name` wins over
   * `org.opencontainers.image.ref.name`.
   */
  listImages(): Promise<ImageRecord[]> {
    return this.#names.listImages();
  }

  /** Inserts or replaces names in one atomic rewrite of index.json (under the writer lock). */
  putImages(records: readonly ImageRecord[]): Promise<void> {
    return this.#names.putImages(records);
  }

  /**
   * Removes names in one atomic rewrite of index.json (under the writer lock).
   * @throws {NotFoundError} when one is absent; then nothing is removed.
   */
  deleteImages(names: readonly string[]): Promise<void> {
    return this.#names.deleteImages(names);
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
    let released = false;
    return {
      id,
      add: async (more) => {
        for (const d of more) parseDigest(d);
        if (released) throw new TypeError(`lease ${id} was released`);
        if (more.length === 0) return;
        await this.exclusive(async () => {
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
        });
      },
      release: async () => {
        released = true;
        await removeQuietly(dir, id);
      },
    };
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
class OpfsBlobWriter implements BlobWriter {
  #init: ConstructorInit;
  #size = 0;
  #state: "open" | "committing" | "done" = "open";
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown;
  #committing?: Promise<unknown>;
  #moved = false;

  constructor(init: ConstructorInit) {
    this.#init = init;
  }

  /** The finished sha256 (taken once: by {@link sha256} or at commit). */
  #finished?: Promise<{ sha256: string; size: number }>;

  #finish(): Promise<{ sha256: string; size: number }> {
    this.#finished ??= (async () => {
      await this.#queue;
      if (this.#failure) throw this.#failure;
      const offload = this.#init.offload;
      if (offload) {
        this.#init.offload = undefined;
        return await offload.finish();
      }
      return { sha256: this.#init.hasher.digest(), size: this.#size };
    })();
    return this.#finished;
  }

  /**
   * The sha256 of everything written, so callers need not hash the bytes again (for an
   * offloaded writer this waits for the helper worker). Call after the last write.
   */
  async sha256(): Promise<Digest> {
    return `sha256:${(await this.#finish()).sha256}` as Digest;
  }

  async #closeHandles(): Promise<void> {
    const { sync, writable, offload } = this.#init;
    this.#init.sync = undefined;
    this.#init.writable = undefined;
    this.#init.offload = undefined;
    try {
      sync?.close();
    } catch {
      // closed already
    }
    if (writable) await writable.abort().catch(() => {});
    if (offload) await offload.abort().catch(() => {});
  }

  async #discard(): Promise<void> {
    this.#state = "done";
    await this.#closeHandles();
    // A sha256() in flight has the helper finishing the file (its handle still open):
    // let it close before removing the file.
    if (this.#finished) await this.#finished.catch(() => {});
    if (!this.#moved) await removeQuietly(this.#init.ingest, this.#init.name);
    this.#init.done();
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(new TypeError("Cannot write: the blob writer is already finished"));
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#finished) {
      return Promise.reject(new TypeError("Cannot write: sha256() was already taken"));
    }
    const at = this.#size;
    this.#size += chunk.byteLength;
    const { sync, offload } = this.#init;
    if (offload) {
      // Written (and hashed here or there) by the helper worker; errors surface here or
      // at commit.
      return offload.write(chunk).catch((e) => this.#fail(e));
    }
    this.#init.hasher.update(chunk);
    if (sync) {
      // Synchronous and in order: no queue needed.
      try {
        writeAll(sync, chunk, at);
        return Promise.resolve();
      } catch (e) {
        return this.#fail(e);
      }
    }
    const copy = chunk.slice(); // the caller may reuse its buffer before the write runs
    const run = this.#queue.then(async () => {
      if (this.#failure) throw this.#failure;
      try {
        await this.#init.writable!.write(copy);
      } catch (e) {
        await this.#fail(e);
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #fail(e: unknown): Promise<never> {
    this.#failure = await mapQuota(e, `write a blob to store ${this.#init.path}`);
    await this.#discard();
    throw this.#failure;
  }

  async #actualDigest(algorithm: DigestAlgorithm, sha256?: string): Promise<string> {
    if (algorithm === "sha256") return `sha256:${sha256 ?? this.#init.hasher.digest()}`;
    const hasher = await this.#init.runtime.createHasher(algorithm);
    const file = await this.#init.handle.getFile();
    for await (const chunk of file.stream() as ReadableStream<Uint8Array>) hasher.update(chunk);
    return `${algorithm}:${hasher.digest()}`;
  }

  commit(expected: Expectation): Promise<{ added: boolean }> {
    if (this.#state !== "open") {
      return Promise.reject(new TypeError("Cannot commit: the blob writer is already finished"));
    }
    this.#state = "committing";
    const run = this.#commit(expected);
    this.#committing = run.catch(() => {});
    return run;
  }

  async #commit(expected: Expectation): Promise<{ added: boolean }> {
    try {
      await this.#queue;
      if (this.#failure) throw this.#failure;
      if (!isObject(expected)) throw new TypeError("commit() needs { digest, size }");
      const { algorithm, encoded } = parseDigest(expected.digest);
      // Make the bytes durable and release the file before hashing or moving it.
      const { sync, writable, offload } = this.#init;
      this.#init.sync = undefined;
      this.#init.writable = undefined;
      if (sync) {
        sync.flush();
        sync.close();
      }
      if (writable) await writable.close();
      let sha256: string | undefined;
      if (offload || this.#finished) {
        const done = await this.#finish();
        sha256 = done.sha256;
        if (done.size !== this.#size) {
          throw new IoError(
            `the helper worker wrote ${done.size} bytes, not ${this.#size}`,
          );
        }
      }
      try {
        const actual = this.#size === expected.size
          ? await this.#actualDigest(algorithm, sha256)
          : "";
        checkDigestAndSize(expected, actual, this.#size);
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
      const dir = await this.#init.blobsDir(algorithm);
      const added = await this.#init.commitLock(expected.digest, async () => {
        if (await fileOrUndefined(dir, encoded)) return false;
        await moveFile(this.#init.ingest, this.#init.handle, dir, encoded);
        this.#moved = true; // nothing left in ingest/
        return true;
      });
      await this.#discard();
      return { added };
    } catch (e) {
      await this.#discard();
      throw await mapQuota(e, `commit blob ${String(expected?.digest)} in ${this.#init.path}`);
    }
  }

  async abort(): Promise<void> {
    if (this.#committing) {
      await this.#committing;
      return;
    }
    if (this.#state === "done") return;
    this.#state = "done";
    await this.#queue;
    await this.#discard();
  }
}

/** What {@link OpfsBlobWriter} is built from. */
interface ConstructorInit {
  path: string;
  ingest: OpfsDirectoryHandle;
  name: string;
  handle: OpfsFileHandle;
  sync?: OpfsSyncAccessHandle;
  writable?: OpfsWritable;
  offload?: OffloadedWrite;
  hasher: Hasher;
  runtime: Runtime;
  blobsDir: (algorithm: DigestAlgorithm) => Promise<OpfsDirectoryHandle>;
  commitLock: <T>(digest: string, fn: () => Promise<T>) => Promise<T>;
  done: () => void;
}

// ---------------------------------------------------------------------------------------
// Writing in a helper worker
//
// The helper writes (sync access handle, flush) while the store's own thread goes on
// reading the input. The bytes travel in segments: the store copies each chunk into a
// 4 MiB segment (the caller keeps its buffer), transfers full segments to the helper, and
// the helper hands them back once written, so the same few buffers go back and forth
// (copies into memory already touched cost a fraction of copies into fresh allocations).
//
// Hashing is shared so that neither thread does it all: each blob is hashed either by the
// store or by the helper, whichever has hashed fewer bytes so far. A blob of up to
// WEBCRYPTO_MAX bytes is gathered in one reused buffer and digested with WebCrypto at the
// end (native SHA-256, several times hash-wasm's speed); a bigger one streams through the
// runtime's hasher in the helper (for what the store gathered first: read back from the
// file).

/** Store → helper messages. */
type ToWriter =
  /** `hash`: the helper hashes this write (else the store does). */
  | { t: "open"; id: number; handle: OpfsFileHandle; hash: boolean }
  | { t: "write"; id: number; buffer: ArrayBuffer; length: number }
  /** From now on the helper hashes this write, starting with the bytes it wrote. */
  | { t: "hash"; id: number }
  | { t: "finish"; id: number }
  | { t: "abort"; id: number };

/** Helper → store messages. */
type FromWriter =
  | { t: "written"; id: number; buffer: ArrayBuffer }
  | { t: "finished"; id: number; sha256?: string; size: number }
  | { t: "aborted"; id: number }
  | { t: "error"; id: number; name: string; message: string };

/**
 * Blobs up to this size are gathered in one buffer and hashed with WebCrypto; bigger ones
 * stream through the runtime's hasher in the helper, so memory stays bounded by this.
 */
const WEBCRYPTO_MAX = 64 * 1024 * 1024;

/** Size of the buffers that carry bytes to the helper. */
const SEGMENT = 4 * 1024 * 1024;
/** Segments a write may have at the helper before it waits (32 MiB). */
const SEGMENTS_IN_FLIGHT = 8;
/** Segments kept for reuse between writes. */
const POOL_MAX = SEGMENTS_IN_FLIGHT + 2;
/** Reused buffers are dropped after this long without writes. */
const IDLE_MS = 2000;

/** One write carried out by the helper worker. */
interface OffloadedWrite {
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<{ sha256: string; size: number }>;
  abort(): Promise<void>;
}

/**
 * Runs `release` once nothing was in use for {@link IDLE_MS}: `enter()` and `leave()`
 * bracket each use.
 */
function idleRelease(release: () => void) {
  let users = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    enter() {
      users++;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    leave() {
      if (--users > 0) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (users === 0) release();
      }, IDLE_MS);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The store side of the helper worker. */
class OffloadClient {
  #worker: WorkerLike;
  #next = 1;
  #listeners = new Map<number, (m: FromWriter) => void>();
  #pool: ArrayBuffer[] = [];
  #subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  /** One write at a time gathers its bytes here for a WebCrypto digest. */
  #gathered?: Uint8Array<ArrayBuffer>;
  #gatherer?: number;
  /** Bytes hashed here and in the helper: each new write goes to the one with fewer. */
  #hashedHere = 0;
  #hashedThere = 0;
  #idle = idleRelease(() => {
    this.#pool.length = 0;
    this.#gathered = undefined;
  });

  /** Set once the helper failed outside a write (it did not load, or threw). */
  #broken?: { name: string; message: string };

  constructor(worker: WorkerLike) {
    this.#worker = worker;
    worker.addEventListener("message", (e: MessageEvent) => {
      const m = e.data as FromWriter;
      if (m.t === "written") this.#reuse(m.buffer);
      this.#listeners.get(m.id)?.(m);
    });
    worker.addEventListener("error", (e) => {
      this.#broken = {
        name: "Error",
        message: `the OPFS writer worker failed${e?.message ? `: ${e.message}` : ""}`,
      };
      for (const [id, listener] of [...this.#listeners]) {
        listener({ t: "error", id, ...this.#broken });
      }
    });
  }

  #reuse(buffer: ArrayBuffer) {
    if (buffer.byteLength === SEGMENT && this.#pool.length < POOL_MAX) this.#pool.push(buffer);
  }

  terminate(): void {
    this.#idle.cancel();
    this.#pool.length = 0;
    this.#gathered = undefined;
    this.#worker.terminate?.();
  }

  /**
   * Starts a write of `handle` in the helper. It does not wait for the helper: an error
   * opening the file there fails the next write or the finish.
   */
  open(handle: OpfsFileHandle): OffloadedWrite {
    const id = this.#next++;
    const post = (m: ToWriter, transfer?: Transferable[]) => this.#worker.postMessage(m, transfer);
    /** Bytes written so far. */
    let size = 0;
    /** Whether this write gathers its bytes for WebCrypto (else the helper hashes). */
    let gathering = this.#subtle !== undefined && this.#gatherer === undefined &&
      this.#hashedHere <= this.#hashedThere;
    if (gathering) this.#gatherer = id;
    const stopGathering = () => {
      if (this.#gatherer === id) this.#gatherer = undefined;
      gathering = false;
    };
    /** Segments at the helper. */
    let away = 0;
    let segment: Uint8Array | undefined;
    let filled = 0;
    let error: Error | undefined;
    /** Writes waiting for segments to come back (two may wait at once). */
    const waiting: (() => void)[] = [];
    let settle: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
    let ended = false;
    this.#idle.enter();
    const end = () => {
      this.#listeners.delete(id);
      stopGathering();
      if (!ended) this.#idle.leave();
      ended = true;
    };
    this.#listeners.set(id, (m) => {
      if (m.t === "written") away--;
      else if (m.t === "error") {
        // The helper closed the file and dropped the write.
        error = new WorkerError(m);
        end();
        settle?.reject(error);
      } else if (m.t === "finished" || m.t === "aborted") {
        end();
        settle?.resolve(m);
      }
      for (const wake of waiting.splice(0)) wake();
    });
    const send = () => {
      const buffer = segment!.buffer as ArrayBuffer;
      post({ t: "write", id, buffer, length: filled }, [buffer]);
      away++;
      segment = undefined;
      filled = 0;
    };
    const reply = (message: ToWriter) =>
      new Promise<FromWriter>((resolve, reject) => {
        settle = { resolve: resolve as (v: unknown) => void, reject };
        post(message);
      });
    post({ t: "open", id, handle, hash: !gathering });
    if (this.#broken) this.#listeners.get(id)!({ t: "error", id, ...this.#broken });
    return {
      write: async (chunk) => {
        if (error) throw error;
        if (gathering) {
          if (size + chunk.byteLength <= WEBCRYPTO_MAX) {
            this.#gathered ??= new Uint8Array(WEBCRYPTO_MAX); // pages are touched as used
            this.#gathered.set(chunk, size);
          } else {
            // Too big to gather: the helper hashes it, from the file for what it has.
            stopGathering();
            if (filled > 0) send();
            post({ t: "hash", id });
          }
        }
        size += chunk.byteLength;
        for (let at = 0; at < chunk.byteLength;) {
          segment ??= new Uint8Array(this.#pool.pop() ?? new ArrayBuffer(SEGMENT));
          const n = Math.min(SEGMENT - filled, chunk.byteLength - at);
          segment.set(chunk.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === SEGMENT) send();
        }
        while (!error && away > SEGMENTS_IN_FLIGHT) {
          await new Promise<void>((resolve) => waiting.push(resolve));
        }
        if (error) throw error;
      },
      finish: async () => {
        if (error) throw error;
        if (filled > 0) send();
        // WebCrypto copies its input when called: the gathered buffer is free right after.
        const digest = gathering
          ? this.#subtle!.digest("SHA-256", this.#gathered!.subarray(0, size))
          : undefined;
        digest?.catch(() => {}); // awaited below
        stopGathering();
        if (digest) this.#hashedHere += size;
        else this.#hashedThere += size;
        const done = await reply({ t: "finish", id }) as FromWriter & { t: "finished" };
        const sha256 = digest ? toHex(new Uint8Array(await digest)) : done.sha256;
        if (sha256 === undefined) throw new IoError("the helper worker reported no digest");
        return { sha256, size: done.size };
      },
      abort: async () => {
        if (ended) return;
        if (segment) this.#reuse(segment.buffer as ArrayBuffer);
        segment = undefined;
        await reply({ t: "abort", id });
      },
    };
  }
}

/**
 * Runs the helper side in a dedicated worker: open the ingest file's sync access handle,
 * write every segment and hand it back, hash when asked (WebCrypto over a gathered blob
 * up to WEBCRYPTO_MAX, else streaming), flush and report. Call it from the worker's entry
 * module.
 *
 * @example
 * ```ts ignore
 * // opfs_writer.ts, bundled as its own worker:
 * import { serveOpfsWriter } from "../src/store/opfs.ts";
 * serveOpfsWriter(self);
 * ```
 */
export function serveOpfsWriter(
  scope: {
    postMessage(m: unknown, transfer?: Transferable[]): void;
    addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  },
  options: { runtime?: Runtime } = {},
): void {
  interface State {
    sync?: OpfsSyncAccessHandle;
    /** The helper hashes this write: by gathering it, or with `hasher`. */
    hashes: boolean;
    gathering: boolean;
    hasher?: Hasher;
    at: number;
    failed: boolean;
    queue: Promise<void>;
  }
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  const writes = new Map<number, State>();
  /** One write at a time gathers its bytes here for a WebCrypto digest. */
  let gathered: Uint8Array<ArrayBuffer> | undefined;
  let gatherer: State | undefined;
  const idle = idleRelease(() => (gathered = undefined));
  const post = (m: FromWriter, transfer?: Transferable[]) => scope.postMessage(m, transfer);
  const hasher = async () => await (options.runtime ?? await getRuntime()).createHasher("sha256");
  const stopGathering = (w: State) => {
    if (gatherer === w) gatherer = undefined;
    w.gathering = false;
  };
  const end = (id: number, w: State) => {
    try {
      w.sync?.close();
    } catch {
      // closed
    }
    w.sync = undefined;
    stopGathering(w);
    if (writes.delete(id)) idle.leave();
  };
  const fail = (id: number, w: State, e: unknown) => {
    w.failed = true;
    end(id, w);
    post({
      t: "error",
      id,
      name: domName(e) ?? "Error",
      message: e instanceof Error ? e.message : String(e),
    });
  };
  /** Hashes what was written so far, read back from the file. */
  const hashWritten = (w: State) => {
    const buffer = new Uint8Array(Math.min(SEGMENT, w.at));
    for (let at = 0; at < w.at;) {
      const n = w.sync!.read(buffer.subarray(0, Math.min(buffer.byteLength, w.at - at)), { at });
      if (n <= 0) throw new IoError(`the ingest file ended at ${at} of ${w.at} bytes`);
      w.hasher!.update(buffer.subarray(0, n));
      at += n;
    }
  };
  const hash = async (w: State, bytes: Uint8Array) => {
    if (w.at === 0 && !w.hasher && subtle && !gatherer) {
      gatherer = w;
      w.gathering = true;
    }
    if (w.gathering) {
      if (w.at + bytes.byteLength <= WEBCRYPTO_MAX) {
        gathered ??= new Uint8Array(WEBCRYPTO_MAX); // pages are touched only as used
        gathered.set(bytes, w.at);
        return;
      }
      // Too big to gather: hash what was gathered and stream the rest.
      w.hasher = await hasher();
      if (w.at > 0) w.hasher.update(gathered!.subarray(0, w.at));
      stopGathering(w);
    }
    w.hasher ??= await hasher();
    w.hasher.update(bytes);
  };
  const run = async (m: ToWriter, w: State) => {
    if (m.t === "write") {
      try {
        if (w.failed || !w.sync) return;
        const bytes = new Uint8Array(m.buffer, 0, m.length);
        writeAll(w.sync, bytes, w.at);
        if (w.hashes) await hash(w, bytes);
        w.at += bytes.byteLength;
      } catch (err) {
        fail(m.id, w, err);
      } finally {
        post({ t: "written", id: m.id, buffer: m.buffer }, [m.buffer]);
      }
      return;
    }
    if (m.t === "abort") {
      end(m.id, w);
      post({ t: "aborted", id: m.id });
      return;
    }
    if (w.failed || !w.sync) return; // the error was reported
    try {
      if (m.t === "hash") {
        // The store stopped gathering this write: hash it here, from the start.
        w.hashes = true;
        w.hasher ??= await hasher();
        hashWritten(w);
      } else if (m.t === "finish") {
        w.sync.flush();
        let sha256: string | undefined;
        if (w.gathering) {
          // WebCrypto copies its input when called: the buffer is free right after.
          const digest = subtle!.digest("SHA-256", gathered!.subarray(0, w.at));
          stopGathering(w);
          sha256 = toHex(new Uint8Array(await digest));
        } else if (w.hashes) sha256 = (w.hasher ?? await hasher()).digest();
        end(m.id, w);
        post({ t: "finished", id: m.id, sha256, size: w.at });
      }
    } catch (err) {
      fail(m.id, w, err);
    }
  };
  scope.addEventListener("message", (e: MessageEvent) => {
    const m = e.data as ToWriter;
    if (m.t === "open") {
      const w: State = {
        hashes: m.hash,
        gathering: false,
        at: 0,
        failed: false,
        queue: Promise.resolve(),
      };
      writes.set(m.id, w);
      idle.enter();
      // Messages for this id are handled in order behind this queue.
      w.queue = (async () => {
        try {
          w.sync = await m.handle.createSyncAccessHandle!();
        } catch (err) {
          fail(m.id, w, err);
        }
      })();
      return;
    }
    const w = writes.get(m.id);
    if (!w) {
      // Finished, failed or aborted already: hand the segment back, confirm an abort.
      if (m.t === "write") post({ t: "written", id: m.id, buffer: m.buffer }, [m.buffer]);
      if (m.t === "abort") post({ t: "aborted", id: m.id });
      return;
    }
    w.queue = w.queue.then(() => run(m, w));
  });
}
