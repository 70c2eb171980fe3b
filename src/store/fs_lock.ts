/**
 * Deno only: the fs store's writer lock — an in-process mutex per store directory, then
 * `flock` on `<dir>/lock`. A writer that has to wait says so once (with the pid the holder
 * wrote into the file) and gives up after the lock timeout, if any.
 * @module
 */
import { LockTimeoutError } from "../errors.ts";
import { type Mutex, mutexFor } from "./fs_files.ts";
import { startTimer } from "../timer.ts";

/** How long a lock attempt may take before it counts as waiting for another writer. */
const LOCK_WAIT_NOTICE_MS = 150;

/** What {@link FsWriterLock} reports and how long it waits. */
export interface FsWriterLockOptions {
  /** The store directory's real path (one mutex per directory in this process). */
  readonly lockKey?: string;
  /** Called once when another process holds the lock (its pid, if it recorded one). */
  readonly onLockWait?: (holderPid: number | undefined) => void;
  /** Give up waiting after this many milliseconds ({@link LockTimeoutError}). */
  readonly lockTimeoutMs?: number;
}

/** The writer lock of one store directory. */
export class FsWriterLock {
  readonly dir: string;
  #mutex: Mutex;
  #options: FsWriterLockOptions;

  constructor(dir: string, options: FsWriterLockOptions = {}) {
    this.dir = dir;
    this.#mutex = mutexFor(options.lockKey ?? dir);
    this.#options = options;
  }

  /**
   * Runs `fn` holding the lock (in-process mutex, then `flock` on `<dir>/lock`); `fn`
   * must not take it again.
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.#mutex.acquire();
    try {
      const file = await Deno.open(`${this.dir}/lock`, { read: true, write: true, create: true });
      try {
        await this.#lock(file);
        try {
          return await fn();
        } finally {
          await file.unlock().catch(() => {});
        }
      } finally {
        file.close();
      }
    } finally {
      release();
    }
  }

  /**
   * Takes `flock` on the lock file. When another process holds it, says so once (with the
   * pid that process wrote into the file) and gives up after the lock timeout, if any.
   * The holder's pid is written into the file once the lock is ours.
   */
  async #lock(file: Deno.FsFile): Promise<void> {
    const locked = file.lock(true);
    let cancel = () => {};
    const after = (ms: number) =>
      new Promise<"later">((resolve) => (cancel = startTimer(ms, () => resolve("later"))));
    try {
      if ((await Promise.race([locked, after(LOCK_WAIT_NOTICE_MS)])) === "later") {
        cancel();
        let pid: number | undefined;
        try {
          const text = await Deno.readTextFile(`${this.dir}/lock`);
          const n = Number(text.trim());
          if (Number.isSafeInteger(n) && n > 0) pid = n;
        } catch {
          // no pid recorded
        }
        this.#options.onLockWait?.(pid);
        const limit = this.#options.lockTimeoutMs;
        if (limit !== undefined) {
          const left = Math.max(0, limit - LOCK_WAIT_NOTICE_MS);
          if ((await Promise.race([locked, after(left)])) === "later") {
            locked.then(() => file.unlock(), () => {}).catch(() => {});
            throw new LockTimeoutError(
              `Cannot write to store ${this.dir}: another writer${
                pid ? ` (pid ${pid})` : ""
              } held its lock for more than ${limit / 1000} s`,
            );
          }
        } else await locked;
      }
    } finally {
      cancel();
    }
    try {
      await file.truncate(0);
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    } catch {
      // The pid is only a courtesy to waiting writers.
    }
  }
}
