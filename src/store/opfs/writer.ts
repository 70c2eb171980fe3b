// This module is browser compatible.
/**
 * The OPFS blob writer: hashes while it writes (in this thread, or in the helper worker), verifies on commit and moves the file into `blobs/` under a per-digest lock.
 * @module
 */
import { checkCommit, isObject, LayoutBlobWriter } from "../layout.ts";
import { type Digest, type DigestAlgorithm, type Expectation, parseDigest } from "../../digest.ts";
import { IoError } from "../../errors.ts";
import type { Hasher, Runtime } from "../../runtime/types.ts";
import type { BlobWriter } from "../types.ts";
import type {
  OpfsDirectoryHandle,
  OpfsFileHandle,
  OpfsSyncAccessHandle,
  OpfsWritable,
} from "./dom.ts";
import { fileOrUndefined, mapQuota, moveFile, removeQuietly, writeAll } from "./files.ts";
import type { OffloadedWrite } from "./helper_client.ts";

export class OpfsBlobWriter extends LayoutBlobWriter implements BlobWriter {
  #init: ConstructorInit;
  #size = 0;
  #moved = false;

  constructor(init: ConstructorInit) {
    super();
    this.#init = init;
  }

  /** The finished sha256 (taken once: by {@link sha256} or at commit). */
  #finished?: Promise<{ sha256: string; size: number }>;

  #finish(): Promise<{ sha256: string; size: number }> {
    this.#finished ??= (async () => {
      await this.queue;
      if (this.failure) throw this.failure;
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
    this.state = "done";
    await this.#closeHandles();
    // A sha256() in flight has the helper finishing the file (its handle still open):
    // let it close before removing the file.
    if (this.#finished) await this.#finished.catch(() => {});
    if (!this.#moved) await removeQuietly(this.#init.ingest, this.#init.name);
    this.#init.done();
  }

  write(chunk: Uint8Array): Promise<void> {
    const refused = this.refuseWrite(this.#finished !== undefined);
    if (refused) return refused;
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
    const run = this.queue.then(async () => {
      if (this.failure) throw this.failure;
      try {
        await this.#init.writable!.write(copy);
      } catch (e) {
        await this.#fail(e);
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  async #fail(e: unknown): Promise<never> {
    this.failure = await mapQuota(e, `write a blob to store ${this.#init.path}`);
    await this.#discard();
    throw this.failure;
  }

  async #actualDigest(algorithm: DigestAlgorithm, sha256?: string): Promise<string> {
    if (algorithm === "sha256") return `sha256:${sha256 ?? this.#init.hasher.digest()}`;
    const hasher = await this.#init.runtime.createHasher(algorithm);
    const file = await this.#init.handle.getFile();
    for await (const chunk of file.stream() as ReadableStream<Uint8Array>) hasher.update(chunk);
    return `${algorithm}:${hasher.digest()}`;
  }

  /** Verifies, then moves the ingest file into `blobs/` (see {@link LayoutBlobWriter}). */
  protected async commitWritten(expected: Expectation): Promise<{ added: boolean }> {
    try {
      await this.queue;
      if (this.failure) throw this.failure;
      if (!isObject(expected)) throw new TypeError("commit() needs { digest, size }");
      parseDigest(expected.digest); // before any file is touched
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
      const { algorithm, encoded } = await checkCommit(
        expected,
        this.#size,
        (algorithm) => this.#actualDigest(algorithm, sha256),
      );
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

  /** Discards the write (waits for a commit in progress, which cleans up itself). */
  async abort(): Promise<void> {
    if (await this.abortStarts()) await this.#discard();
  }
}

/** What {@link OpfsBlobWriter} is built from. */
export interface ConstructorInit {
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
