/**
 * A {@link Store} on disk (Deno). The store directory IS an OCI image layout, so
 * `skopeo inspect oci:<dir>:<name>` and `umoci ls --layout <dir>` work on it:
 *
 * ```
 * <dir>/oci-layout               {"imageLayoutVersion":"1.0.0"}
 * <dir>/index.json               one descriptor per image name (ref.name + io.containerd.image.name)
 * <dir>/blobs/<alg>/<hex>        immutable, mode 0444, verified before they appear
 * <dir>/ingest/<owner>-<random>  in-flight writes, never read as content
 * <dir>/leases/<owner>-<random>  digests protected from gc while an operation runs
 * <dir>/lock                     writers take it (flock), plus an in-process mutex
 * ```
 *
 * `<owner>` is `<pid>.<start time>` (the start time from `/proc/<pid>/stat`, `0` where
 * there is no `/proc`): ingest, lease and temporary index files whose owner process is
 * gone are removed when a store is opened; a live process's files are kept.
 *
 * Metadata calls (stat, lstat, listing the store's small directories, index.json and
 * oci-layout) are synchronous: each async one is a thread-pool round trip (~0.1 ms on an
 * idle machine, milliseconds on a busy one), and opening a store, checking which blobs are
 * present and reading the names make dozens of them in every command.
 *
 * @example
 * ```ts
 * import { writeBlob } from "@lading/oci";
 * import { openFsStore } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * const store = await openFsStore(dir);
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * await store.putImages([{
 *   name: "example.com/hello:1",
 *   target: { mediaType: "application/vnd.oci.empty.v1+json", digest, size: 2 },
 * }]);
 * console.log((await store.listImages()).map((r) => r.name)); // ["example.com/hello:1"]
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { type Digest, parseDigest, randomHex } from "../digest.ts";
import { InvalidInputError, LimitExceededError, NotFoundError } from "../errors.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import type { BlobInfo, BlobWriter, Lease, Store, WriterOptions } from "./types.ts";
import { mapNoSpace, ownerToken, removeQuietly, writeAll } from "./fs_files.ts";
import { checkLayoutFile, checkStoreDirectories, initLayout } from "./fs_layout.ts";
import {
  createLease,
  leasedDigestsIn,
  removeStaleFilesIn,
  type StaleFile,
  type StaleFileOptions,
} from "./fs_leases.ts";
import { FsWriterLock } from "./fs_lock.ts";
import { FsBlobWriter, type FsWriteOffload, HASH_AT_END_MAX, hashExisting } from "./fs_writer.ts";
import { ALGORITHMS, HEX_NAME, INDEX_TMP_PREFIX, LayoutNameRoles } from "./layout.ts";
import {
  emptyLayoutIndex,
  INDEX_LIMIT,
  layoutImageNames,
  type LayoutIndex,
  type LayoutNames,
  parseLayoutIndex,
  serializeLayoutIndex,
} from "./layout_index.ts";

export type { StaleFile, StaleFileOptions };

// ---------------------------------------------------------------------------------------
// The store

/** Options for {@link openFsStore}. */
export interface FsStoreOptions {
  /** Hashing runtime (default: detected). */
  runtime?: Runtime;
  /**
   * Initialize the layout when it is missing. Default: true when the directory does not
   * exist or is empty; an explicit true also initializes a non-empty directory.
   */
  create?: boolean;
  /**
   * fdatasync blobs and index.json before renaming them into place (default true). Turning
   * it off is faster for many small blobs but a power loss may leave a truncated blob
   * under its final name.
   */
  sync?: boolean;
  /** Remove files dead processes left in ingest/, leases/ and index.json.tmp-* (default true). */
  removeStale?: boolean;
  /**
   * Called once when the writer lock is held by another process (the pid it recorded in
   * `lock`, if known) and this one starts waiting for it.
   */
  onLockWait?: (holderPid: number | undefined) => void;
  /** Give up waiting for the writer lock after this many milliseconds ({@link LockTimeoutError}). */
  lockTimeoutMs?: number;
  /**
   * Where large blobs are hashed and written (worker threads: `fsWriteWorkers()`), for
   * writes whose size is given to {@link FsStore.writer}; default: this thread.
   */
  writeOffload?: FsWriteOffload;
}

/**
 * Opens (and, when missing or empty, creates) a store directory, which is an OCI image
 * layout. Stale ingest files, leases and temporary index files of dead processes are
 * removed.
 *
 * @throws {NotFoundError} the directory does not exist and `create` is false.
 * @throws {InvalidInputError} the directory is not empty and not an OCI layout (and
 *   `create` is not true), or its `oci-layout` file is malformed.
 * @example
 * ```ts
 * import { openFsStore } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * const store = await openFsStore(`${dir}/store`);
 * console.log(await Deno.readTextFile(`${dir}/store/oci-layout`)); // {"imageLayoutVersion":"1.0.0"}
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openFsStore(dir: string, options: FsStoreOptions = {}): Promise<FsStore> {
  if (typeof dir !== "string" || dir === "") throw new TypeError("store directory must be a path");
  if (dir.length > 1) dir = dir.replace(/[/\\]+$/, "") || dir.slice(0, 1);
  let stat: Deno.FileInfo | undefined;
  try {
    stat = Deno.statSync(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (stat && !stat.isDirectory) {
    throw new InvalidInputError(`Cannot open store ${dir}: not a directory`);
  }
  const entries: string[] = [];
  if (stat) { for (const e of Deno.readDirSync(dir)) entries.push(e.name); }
  if (entries.includes("oci-layout")) {
    checkLayoutFile(dir);
  } else {
    // Only files a store makes (another process is creating it right now): join in.
    const beingCreated = entries.every((n) =>
      /^(blobs|ingest|leases|lock|index\.json)$/.test(n) ||
      /^(oci-layout|index\.json)\.tmp-/.test(n)
    );
    const create = options.create ?? (stat === undefined || beingCreated);
    if (!create) {
      if (!stat) throw new NotFoundError(`Cannot open store ${dir}: the directory does not exist`);
      throw new InvalidInputError(
        `Cannot open store ${dir}: it is not empty and not an OCI image layout (no oci-layout file); pass create: true to initialize it`,
      );
    }
    await initLayout(dir, options.sync ?? true);
  }
  checkStoreDirectories(dir);
  const real = Deno.realPathSync(dir);
  const store = new FsStore(dir, { ...options, lockKey: real });
  if (options.removeStale ?? true) await store.removeStaleFiles();
  return store;
}

/**
 * A store in a directory that is an OCI image layout. Create it with
 * {@link openFsStore}.
 *
 * Locking: {@link FsStore.putImages}, {@link FsStore.deleteImages}, `Lease.add` and
 * {@link FsStore.exclusive} take the writer lock (an in-process mutex per directory plus
 * `flock` on `<dir>/lock`). Readers and blob writers never wait for it. `delete()` does not
 * take it either, so gc can call it inside `exclusive()`.
 *
 * @example
 * ```ts
 * import { openFsStore } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * const store = await openFsStore(dir);
 * const lease = await store.lease();
 * await lease.add(["sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"]);
 * console.log((await store.leasedDigests()).size); // 1
 * await lease.release();
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FsStore extends LayoutNameRoles implements Store {
  /** The store directory, as given to {@link openFsStore}. */
  readonly dir: string;
  #runtime?: Runtime;
  #sync: boolean;
  #offload?: FsWriteOffload;
  #lock: FsWriterLock;
  #madeDirs = new Set<string>();
  /** The names in index.json (shared logic with the OPFS store). */
  protected readonly names: LayoutNames;

  /** Use {@link openFsStore}; the constructor does not check or create the layout. */
  constructor(dir: string, options: FsStoreOptions & { lockKey?: string } = {}) {
    super();
    this.dir = dir;
    this.#runtime = options.runtime;
    this.#sync = options.sync ?? true;
    this.#offload = options.writeOffload;
    this.#lock = new FsWriterLock(dir, options);
    this.names = layoutImageNames({
      where: this.dir,
      read: () => this.#readIndex(),
      write: (doc) => this.#writeIndex(doc),
      exclusive: (fn) => this.exclusive(fn),
    });
  }

  #blobPath(digest: Digest): string {
    const { algorithm, encoded } = parseDigest(digest);
    return `${this.dir}/blobs/${algorithm}/${encoded}`;
  }

  /**
   * The file a committed blob has (or would have) in this layout, for Deno code that
   * reads blobs its own way (the hashing workers). @throws {InvalidInputError}
   */
  blobFile(digest: Digest): string {
    return this.#blobPath(digest);
  }

  async #ensureDir(relative: string): Promise<void> {
    if (this.#madeDirs.has(relative)) return;
    await Deno.mkdir(`${this.dir}/${relative}`, { recursive: true });
    this.#madeDirs.add(relative);
  }

  /**
   * Removes what dead processes left behind: ingest files, leases and temporary index
   * files whose owner is gone (called by {@link openFsStore}). Files of live processes,
   * and names this store did not make, are kept; so are partial downloads (for a later
   * pull to resume) unless `partialsOlderThanMs` says otherwise. Returns what it removed,
   * or with `dryRun` what it would remove.
   */
  removeStaleFiles(options: StaleFileOptions = {}): Promise<StaleFile[]> {
    return removeStaleFilesIn(this.dir, options);
  }

  // ----- ContentStore -----

  /** True when the blob is committed. @throws {InvalidInputError} for a malformed digest. */
  has(digest: Digest): Promise<boolean> {
    try {
      return Promise.resolve(Deno.lstatSync(this.#blobPath(digest)).isFile);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return Promise.resolve(false);
      return Promise.reject(e);
    }
  }

  /** Size of a committed blob. @throws {NotFoundError} */
  info(digest: Digest): Promise<BlobInfo> {
    try {
      const stat = Deno.lstatSync(this.#blobPath(digest));
      if (stat.isFile) return Promise.resolve({ digest, size: stat.size });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) return Promise.reject(e);
    }
    return Promise.reject(new NotFoundError(`blob ${digest} not found in store ${this.dir}`));
  }

  /**
   * Opens a committed blob for reading (the caller closes it), for Deno code that copies
   * blobs with its own reads. @throws {NotFoundError}
   */
  async openBlob(digest: Digest): Promise<Deno.FsFile> {
    const path = this.#blobPath(digest);
    try {
      // Only regular files are blobs: a symlink in blobs/ is not followed.
      if (!Deno.lstatSync(path).isFile) throw new Deno.errors.NotFound(path);
      return await Deno.open(path, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`blob ${digest} not found in store ${this.dir}`);
      }
      throw e;
    }
  }

  /**
   * Reads a small committed blob whole without streams (see {@link BlobProvider.readSmall}).
   * @throws {NotFoundError} | {LimitExceededError}
   */
  async readSmall(digest: Digest, maxBytes: number): Promise<Uint8Array> {
    const file = await this.openBlob(digest);
    try {
      // Sized by fstat, plus one byte to see the end; grows only if the file did.
      let buffer = new Uint8Array(Math.min((await file.stat()).size, maxBytes) + 1);
      let n = 0;
      for (;;) {
        if (n === buffer.byteLength) {
          if (n > maxBytes) {
            throw new LimitExceededError(
              `blob ${digest} is larger than the ${maxBytes}-byte limit for JSON documents`,
            );
          }
          const grown = new Uint8Array(Math.min(n * 2, maxBytes + 1));
          grown.set(buffer);
          buffer = grown;
        }
        const r = await file.read(buffer.subarray(n));
        if (r === null) return buffer.subarray(0, n);
        n += r;
      }
    } finally {
      file.close();
    }
  }

  /** Streams a committed blob from `offset` (default 0). @throws {NotFoundError} */
  async reader(
    digest: Digest,
    options: { offset?: number } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new TypeError(`reader offset must be a non-negative integer, got ${offset}`);
    }
    const file = await this.openBlob(digest);
    try {
      if (offset > 0) await file.seek(offset, Deno.SeekMode.Start);
    } catch (e) {
      file.close();
      throw e;
    }
    return file.readable;
  }

  /**
   * Starts a write into `ingest/`. Bytes are hashed (sha256) as they arrive; a sha512
   * commit re-reads the ingest file. Nothing is visible until `commit()` verified it.
   */
  async writer(options: WriterOptions = {}): Promise<BlobWriter> {
    const runtime = this.#runtime ?? await getRuntime();
    await this.#ensureDir("ingest");
    const owner = await ownerToken();
    let path = `${this.dir}/ingest/${owner}-${randomHex()}`;
    let file: Deno.FsFile | undefined;
    let existing = false;
    let free: string | undefined;
    if (options.resume !== undefined) {
      // Resumable: `ingest/r-<alg>-<hex>` is a partial write nobody holds; claiming it is
      // one atomic rename to `<owner>-r-<alg>-<hex>` (a dead owner's is freed again when
      // the store opens). Without one, the write starts under the owned name.
      const { algorithm, encoded } = parseDigest(options.resume);
      free = `${this.dir}/ingest/r-${algorithm}-${encoded}`;
      const mine = `${this.dir}/ingest/${owner}-r-${algorithm}-${encoded}`;
      try {
        await Deno.rename(free, mine);
        file = await Deno.open(mine, { read: true, write: true });
        existing = true;
        path = mine;
      } catch (e) {
        file?.close();
        file = undefined;
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        try {
          file = await Deno.open(mine, { write: true, createNew: true, mode: 0o644 });
          path = mine;
        } catch (e2) {
          // Another write of the same digest in this process: a plain one.
          if (!(e2 instanceof Deno.errors.AlreadyExists)) {
            throw mapNoSpace(e2, `start a blob write in ${this.dir}`);
          }
          free = undefined;
        }
      }
    }
    try {
      file ??= await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
    } catch (e) {
      throw mapNoSpace(e, `start a blob write in ${this.dir}`);
    }
    const common = {
      dir: this.dir,
      blobPath: (digest: Digest) => this.#blobPath(digest),
      path,
      runtime,
      sync: this.#sync,
      ensureDir: (rel: string) => this.#ensureDir(rel),
      keepAs: free,
    };
    // A large blob is hashed and written by a worker thread when the store has some.
    let offloaded;
    try {
      offloaded = await this.#offload?.open(path, { existing, size: options.size });
    } catch (e) {
      file.close();
      throw mapNoSpace(e, `start a blob write in ${this.dir}`);
    }
    if (offloaded) {
      file.close();
      return new FsBlobWriter({ ...common, offloaded, offset: offloaded.offset });
    }
    // A small write (its size known) is hashed from its file at commit.
    if (!existing && options.size !== undefined && options.size <= HASH_AT_END_MAX) {
      return new FsBlobWriter({ ...common, file });
    }
    const hasher = await runtime.createHasher("sha256");
    const offset = existing ? await hashExisting(file, hasher) : 0;
    return new FsBlobWriter({ ...common, file, hasher, offset });
  }

  /** Removes a committed blob (without the writer lock). @throws {NotFoundError} */
  async delete(digest: Digest): Promise<void> {
    const path = this.#blobPath(digest);
    try {
      await Deno.remove(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`blob ${digest} not found in store ${this.dir}`);
      }
      if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
      // Windows: read-only files cannot be removed.
      await Deno.chmod(path, 0o644);
      await Deno.remove(path);
    }
  }

  /**
   * Every committed blob. Only regular files whose names are digests count: other files,
   * directories and symlinks in `blobs/` are ignored (also by has, info and reader).
   */
  async *list(): AsyncIterable<BlobInfo> {
    for (const algorithm of ALGORITHMS) {
      const dir = `${this.dir}/blobs/${algorithm}`;
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isFile && HEX_NAME[algorithm].test(entry.name)) names.push(entry.name);
        }
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      for (const name of names) {
        try {
          const stat = await Deno.lstat(`${dir}/${name}`);
          if (!stat.isFile) continue;
          yield { digest: `${algorithm}:${name}` as Digest, size: stat.size };
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted meanwhile
        }
      }
    }
  }

  // ----- ImageNames (index.json, shared with the other layout store) -----

  #readIndex(): Promise<LayoutIndex> {
    const path = `${this.dir}/index.json`;
    try {
      const st = Deno.statSync(path);
      if (st.size > INDEX_LIMIT) {
        throw new InvalidInputError(
          `Cannot read ${path}: ${st.size} bytes, more than the ${INDEX_LIMIT}-byte limit`,
        );
      }
      return Promise.resolve(parseLayoutIndex(Deno.readFileSync(path), path));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return Promise.resolve(emptyLayoutIndex());
      return Promise.reject(e);
    }
  }

  async #writeIndex(doc: LayoutIndex): Promise<void> {
    const bytes = serializeLayoutIndex(doc);
    const path = `${this.dir}/index.json`;
    const tmp = `${this.dir}/${INDEX_TMP_PREFIX}${await ownerToken()}-${randomHex()}`;
    try {
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      try {
        await writeAll(file, bytes);
        if (this.#sync) await file.syncData();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, path);
    } catch (e) {
      await removeQuietly(tmp);
      throw mapNoSpace(e, `write ${path}`);
    }
  }

  // ----- Leases and locking -----

  /** A new lease file `leases/<owner>-<random>`; release it when the operation ends. */
  async lease(): Promise<Lease> {
    await this.#ensureDir("leases");
    return createLease(this.dir, (fn) => this.exclusive(fn));
  }

  /** Digests of leases whose owner process is alive; dead processes' leases are removed. */
  leasedDigests(): Promise<Set<Digest>> {
    return leasedDigestsIn(this.dir);
  }

  /**
   * Runs `fn` holding the writer lock (in-process mutex, then `flock` on `<dir>/lock`).
   * `fn` must not call `putImages`, `deleteImages`, `Lease.add` or `exclusive` on this
   * directory (from any FsStore in this process): they wait for the same lock and would
   * deadlock. Reading, writing blobs, `delete()` and `leasedDigests()` are fine.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn);
  }

  /** Nothing to release: handles are opened per operation. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
