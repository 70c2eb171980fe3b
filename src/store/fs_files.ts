/**
 * Deno only: the file helpers the fs store is made of — small file operations, disk-full
 * mapping, the owners of ingest, lease and temporary files (which process made one, and is
 * it still alive), and the in-process lock per store directory.
 * @module
 */
import { QuotaExceededError } from "../errors.ts";

/** `<pid>.<start>-<random>`: the names of ingest, lease and temporary index files. */
export const OWNED_NAME = /^(\d+)\.(\d+)-[0-9a-f]+$/;

// ---------------------------------------------------------------------------------------
// Small helpers

export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/** True for "disk full" and "quota exceeded" errors. */
export function isNoSpace(e: unknown): boolean {
  const code = errorCode(e);
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  const message = e instanceof Error ? e.message : "";
  return /\(os error (28|122)\)/.test(message) || /no space left on device/i.test(message);
}

/** Maps disk-full errors to {@link QuotaExceededError}; everything else is returned as is. */
export function mapNoSpace(e: unknown, what: string): unknown {
  if (e instanceof QuotaExceededError || !isNoSpace(e)) return e;
  return new QuotaExceededError(
    `Cannot ${what}: no space left on the device (disk full or quota exceeded)`,
    { cause: e },
  );
}

export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    if (e instanceof Deno.errors.PermissionDenied) {
      // Windows refuses to remove read-only files.
      try {
        await Deno.chmod(path, 0o644);
        await Deno.remove(path);
      } catch {
        // best effort
      }
    }
  }
}

export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) at += await file.write(bytes.subarray(at));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// Owners: which process made an ingest, lease or temporary file, and is it still alive?

/** The start time (clock ticks since boot) of a process, from `/proc/<pid>/stat`. */
export async function processStartTime(pid: number | "self"): Promise<string | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = fields[19]; // field 22 of proc(5); fields[0] is field 3
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

let ownOwner: Promise<string> | undefined;

/** `<pid>.<start time>` of this process (`<pid>.0` where there is no `/proc`). */
export function ownerToken(): Promise<string> {
  ownOwner ??= processStartTime("self").then((start) => `${Deno.pid}.${start ?? "0"}`);
  return ownOwner;
}

/**
 * Whether the process that owns a file name is still alive. Without `/proc` nothing can be
 * told, and the file is treated as alive (kept).
 */
export async function ownerAlive(pid: number, start: string): Promise<boolean> {
  const own = await ownerToken();
  if (own === `${pid}.${start}`) return true;
  const current = await processStartTime(pid);
  if (current === undefined) {
    // No such process, or no /proc at all.
    return (await processStartTime("self")) === undefined;
  }
  if (start === "0") return true;
  return current === start; // a different start time: the pid was reused
}

/** Parses an owned file name; undefined for names that are not ours. */
export function parseOwner(name: string): { pid: number; start: string } | undefined {
  const m = OWNED_NAME.exec(name);
  return m ? { pid: Number(m[1]), start: m[2] } : undefined;
}

// ---------------------------------------------------------------------------------------
// Locks

/** A FIFO async mutex. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    await previous;
    return release;
  }
}

/**
 * One mutex per store directory (by real path) for the whole process: flock locks belong
 * to open file descriptions, so two FsStore instances on one directory must also exclude
 * each other in-process.
 */
const mutexes = new Map<string, Mutex>();

export function mutexFor(realDir: string): Mutex {
  let m = mutexes.get(realDir);
  if (!m) {
    m = new Mutex();
    mutexes.set(realDir, m);
  }
  return m;
}
