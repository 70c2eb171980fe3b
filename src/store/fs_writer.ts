/**
 * Deno only: the fs store's blob writer — bytes go to an ingest file, hashed as they
 * arrive; `commit()` verifies size and digest and links the file into `blobs/` (so `added`
 * is exact under races); `abort()` discards it, or keeps a resumable partial write.
 *
 * Open files are bounded whatever the number of writers: an import stages every blob of
 * an archive before it commits any, so at most {@link MAX_OPEN_WRITER_FILES} writers of a
 * process keep their ingest file open; the least recently written one closes its file and
 * reopens it (append) on its next write or at commit.
 * @module
 */
import type { Digest, DigestAlgorithm, Expectation } from "../digest.ts";
import type { Hasher, Runtime } from "../runtime/types.ts";
import type { BlobWriter } from "./types.ts";
import { exists, mapNoSpace, removeQuietly } from "./fs_files.ts";
import { checkCommit, LayoutBlobWriter } from "./layout.ts";

/** A blob write carried out elsewhere (a worker thread): bytes in; sha256 and size out. */
export interface OffloadedWrite {
  /** Bytes the ingest file held when the write was opened (a resumed partial write). */
  readonly offset: number;
  /** Appends bytes (copied: the caller may reuse `chunk` once this settles). */
  write(chunk: Uint8Array): Promise<void>;
  /** Writes what is left, fdatasyncs when `sync`, closes; the sha256 (hex) and size of the file. */
  finish(sync: boolean): Promise<{ sha256: string; size: number }>;
  /** Writes what is left (a partial write may be kept) and closes the file. */
  close(): Promise<void>;
}

/**
 * Where the fs store sends the bytes of large blobs to be hashed and written (a pool of
 * worker threads: `src/deno/fs_write_workers.ts`), so that several blobs hash on several
 * cores while this thread goes on reading the network.
 */
export interface FsWriteOffload {
  /**
   * An offloaded write appending to the ingest file at `path` (`existing`: it holds a
   * partial write, hashed first), or undefined when this write stays in the calling thread
   * (a small or unknown `size`, no worker available).
   */
  open(
    path: string,
    options: { readonly existing: boolean; readonly size?: number },
  ): Promise<OffloadedWrite | undefined>;
}

/**
 * A write announced this small (and not resumed) is hashed from its file at commit, in one
 * go, instead of chunk by chunk: a pull's documents and small layers then need no streaming
 * hasher in the calling thread (its large blobs go to worker threads).
 */
export const HASH_AT_END_MAX = 256 * 1024;

/** How many blob writers of this process keep their ingest file open at once. */
export const MAX_OPEN_WRITER_FILES = 32;

/** Writers whose ingest file is open, least recently written first. */
const openWriters = new Set<FsBlobWriter>();

/** An in-flight write into `ingest/`. */
export class FsBlobWriter extends LayoutBlobWriter implements BlobWriter {
  #dir: string;
  #blobPath: (digest: Digest) => string;
  /** The ingest file while it is open (closed while parked, see {@link MAX_OPEN_WRITER_FILES}). */
  #file: Deno.FsFile | undefined;
  #path: string;
  #hasher: Hasher | undefined;
  #offloaded: OffloadedWrite | undefined;
  #finished?: Promise<{ sha256: string; size: number }>;
  #runtime: Runtime;
  #sync: boolean;
  #ensureDir: (relative: string) => Promise<void>;
  #size = 0;
  #keepAs?: string;
  /** Bytes a resumed write started with. */
  readonly offset: number;

  constructor(init: {
    dir: string;
    blobPath: (digest: Digest) => string;
    /** The open ingest file (absent for an offloaded write). */
    file?: Deno.FsFile;
    path: string;
    /** Hashes what this thread writes (absent for an offloaded write). */
    hasher?: Hasher;
    /** The write carried out elsewhere (then no file and no hasher here). */
    offloaded?: OffloadedWrite;
    runtime: Runtime;
    sync: boolean;
    ensureDir: (relative: string) => Promise<void>;
    offset?: number;
    keepAs?: string;
  }) {
    super();
    this.offset = init.offset ?? 0;
    this.#size = this.offset;
    this.#keepAs = init.keepAs;
    this.#dir = init.dir;
    this.#blobPath = init.blobPath;
    this.#file = init.file;
    this.#path = init.path;
    this.#hasher = init.hasher;
    this.#offloaded = init.offloaded;
    this.#runtime = init.runtime;
    this.#sync = init.sync;
    this.#ensureDir = init.ensureDir;
    if (this.#file) this.#touch();
  }

  /** Marks this writer's file as the most recently used one and parks the oldest ones. */
  #touch(): void {
    openWriters.delete(this);
    openWriters.add(this);
    for (const w of openWriters) {
      if (openWriters.size <= MAX_OPEN_WRITER_FILES) break;
      if (w !== this) w.#closeFile();
    }
  }

  /** The open ingest file, reopened for appending when it was parked. */
  #openFile(): Deno.FsFile {
    this.#file ??= Deno.openSync(this.#path, { write: true, append: true });
    this.#touch();
    return this.#file;
  }

  #closeFile(): void {
    openWriters.delete(this);
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      file.close();
    } catch {
      // already closed
    }
  }

  async #discard(): Promise<void> {
    this.state = "done";
    await this.#closeOffloaded();
    this.#closeFile();
    await removeQuietly(this.#path);
  }

  /** Lets the offloaded write end (what came is written) and close its file. */
  async #closeOffloaded(): Promise<void> {
    const offloaded = this.#offloaded;
    if (!offloaded) return;
    this.#offloaded = undefined;
    await this.#finished?.catch(() => {});
    await offloaded.close().catch(() => {});
  }

  write(chunk: Uint8Array): Promise<void> {
    const refused = this.refuseWrite(this.#sha256 !== undefined || this.#finished !== undefined);
    if (refused) return refused;
    if (this.#offloaded) {
      this.#size += chunk.byteLength;
      const run = this.#offloaded.write(chunk).catch((e) => {
        this.failure ??= mapNoSpace(e, `write blob to ${this.#path}`);
        throw this.failure;
      });
      this.queue = run.catch(() => {});
      return run;
    }
    // Hash, then write synchronously: a write of a network- or tar-sized chunk into the page
    // cache is a memcpy, far cheaper than an async op's thread-pool round trip per chunk.
    // (Without a hasher, a small write is hashed from its file at the end.)
    this.#hasher?.update(chunk);
    this.#size += chunk.byteLength;
    try {
      const file = this.#openFile();
      let at = 0;
      while (at < chunk.byteLength) at += file.writeSync(chunk.subarray(at));
    } catch (e) {
      this.failure = mapNoSpace(e, `write blob to ${this.#path}`);
      return this.#discard().then(() => Promise.reject(this.failure));
    }
    return Promise.resolve();
  }

  #sha256?: Digest;

  /** The offloaded write's end: everything written, synced when the store syncs, closed. */
  #finish(): Promise<{ sha256: string; size: number }> {
    this.#finished ??= this.queue.then(() => {
      if (this.failure) throw this.failure;
      return this.#offloaded!.finish(this.#sync);
    });
    return this.#finished;
  }

  async #sha256Now(): Promise<Digest> {
    if (this.#sha256) return this.#sha256;
    const hex = this.#offloaded
      ? (await this.#finish()).sha256
      : this.#hasher
      ? this.#hasher.digest()
      : await this.#hashFile("sha256");
    this.#sha256 ??= `sha256:${hex}` as Digest;
    return this.#sha256;
  }

  /**
   * The digest of the ingest file as written: small files read whole and hashed in one go
   * (WebCrypto where the runtime has it: no streaming hasher to load for a small blob).
   */
  async #hashFile(algorithm: DigestAlgorithm): Promise<string> {
    if (this.#size <= HASH_AT_END_MAX && this.#runtime.digest) {
      return await this.#runtime.digest(algorithm, await Deno.readFile(this.#path));
    }
    const hasher = await this.#runtime.createHasher(algorithm);
    const file = await Deno.open(this.#path, { read: true });
    for await (const chunk of file.readable) hasher.update(chunk); // closes the file
    return hasher.digest();
  }

  /** The sha256 of everything written (computed once; no writes after this). */
  sha256(): Promise<Digest> {
    return this.#sha256Now();
  }

  async #actualDigest(algorithm: DigestAlgorithm): Promise<string> {
    if (algorithm === "sha256") return await this.#sha256Now();
    if (this.#offloaded) await this.#finish(); // the file complete and closed
    return `${algorithm}:${await this.#hashFile(algorithm)}`;
  }

  /** Verifies, then links the ingest file into `blobs/` (see {@link LayoutBlobWriter}). */
  protected async commitWritten(expected: Expectation): Promise<{ added: boolean }> {
    try {
      await this.queue;
      if (this.failure) throw this.failure;
      const { algorithm } = await checkCommit(
        expected,
        this.#size,
        (algorithm) => this.#actualDigest(algorithm),
      );
      const target = this.#blobPath(expected.digest as Digest);
      if (this.#offloaded) {
        await this.#finish(); // written, synced and closed by the worker
      } else if (this.#sync) {
        // Out of the open-file rotation while it syncs (nobody may close it meanwhile).
        openWriters.delete(this);
        this.#file ??= await Deno.open(this.#path, { write: true });
        await this.#file.syncData();
      }
      this.#closeFile();
      try {
        await Deno.chmod(this.#path, 0o444);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotSupported)) throw e;
      }
      await this.#ensureDir(`blobs/${algorithm}`);
      let added: boolean;
      try {
        // link() never replaces an existing blob, so `added` is exact under races.
        await Deno.link(this.#path, target);
        added = true;
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists || await exists(target)) {
          // Present means a regular file of the right size: anything else under the
          // blob's name (truncated, a symlink, a FIFO) is replaced by the verified bytes.
          const have = await Deno.lstat(target).catch(() => undefined);
          const want = (await Deno.lstat(this.#path)).size;
          if (have?.isFile && have.size === want) added = false;
          else {
            await Deno.rename(this.#path, target);
            added = true;
          }
        } else {
          // Hard links unsupported on this file system: rename instead.
          await Deno.rename(this.#path, target);
          added = true;
        }
      }
      await this.#discard();
      return { added };
    } catch (e) {
      await this.#discard();
      throw mapNoSpace(e, `commit blob ${String(expected?.digest)} in ${this.#dir}`);
    }
  }

  /** Discards the write, or keeps a resumable one's bytes (unless `discard`). */
  async abort(options: { discard?: boolean } = {}): Promise<void> {
    if (!(await this.abortStarts())) return;
    if (this.#keepAs && !options.discard && !this.failure) {
      // Keep the partial bytes for the next write of this digest.
      await this.#closeOffloaded();
      this.#closeFile();
      try {
        await Deno.rename(this.#path, this.#keepAs);
        return;
      } catch {
        // fall through: discard
      }
    }
    await this.#discard();
  }
}

/** Hashes what a resumed ingest file holds (1 MiB sync reads); returns its size. */
export async function hashExisting(file: Deno.FsFile, hasher: Hasher): Promise<number> {
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  for (;;) {
    const n = file.readSync(buf);
    if (n === null || n === 0) break;
    hasher.update(buf.subarray(0, n));
    total += n;
  }
  await file.seek(total, Deno.SeekMode.Start);
  return total;
}
