// This module is browser compatible.
/**
 * Small OPFS file operations the store and its writer share: lookups that answer undefined for absent entries, whole-file reads and writes in 1 MiB pieces, moves, and the browser's quota error mapped to lading's.
 * @module
 */
import { InvalidInputError, QuotaExceededError } from "../../errors.ts";
import { formatBytes } from "../../format.ts";
import {
  nav,
  type OpfsDirectoryHandle,
  type OpfsFileHandle,
  type OpfsSyncAccessHandle,
} from "./dom.ts";

/**
 * `<owner>-<random>`: names of ingest, lease and temporary index files (with Chromium's
 * `.crswap` swap file of a `createWritable()` in progress).
 */
export const OWNED_NAME = /^([0-9a-f]{16})-[0-9a-f]+(?:\.crswap)?$/;
export const COPY_CHUNK = 1 << 20;

export function domName(e: unknown): string | undefined {
  return typeof (e as { name?: unknown })?.name === "string"
    ? (e as { name: string }).name
    : undefined;
}

export function isNotFound(e: unknown): boolean {
  const n = domName(e);
  return n === "NotFoundError" || n === "TypeMismatchError";
}

/**
 * True for the browser's quota error (a `DOMException` named `QuotaExceededError`).
 *
 * @example
 * ```ts ignore
 * import { isQuotaError } from "@lading/oci/opfs";
 * import { QuotaExceededError } from "@lading/oci";
 * console.log(isQuotaError(new DOMException("full", "QuotaExceededError"))); // true: the browser's error
 * console.log(isQuotaError(new QuotaExceededError("full"))); // false: lading's own, already mapped
 * ```
 */
export function isQuotaError(e: unknown): boolean {
  return domName(e) === "QuotaExceededError" && !(e instanceof QuotaExceededError);
}

/** Maps the browser's quota error to {@link QuotaExceededError}; others are returned as is. */
export async function mapQuota(e: unknown, what: string): Promise<unknown> {
  if (!isQuotaError(e)) return e;
  let detail = "";
  try {
    const est = await nav().storage?.estimate?.();
    if (est?.quota !== undefined) {
      detail = ` (${formatBytes(est.usage ?? 0)} used of ${formatBytes(est.quota)})`;
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

export async function removeQuietly(dir: OpfsDirectoryHandle, name: string): Promise<void> {
  try {
    await dir.removeEntry(name);
  } catch {
    // gone already, or in use by another context
  }
}

export async function fileOrUndefined(
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

export async function dirOrUndefined(
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
export async function readFileBytes(handle: OpfsFileHandle, limit: number, what: string) {
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
export const WRITE_PIECE = 1024 * 1024;

/** Writes all of `bytes` at `at` through a sync access handle, in {@link WRITE_PIECE}s. */
export function writeAll(sync: OpfsSyncAccessHandle, bytes: Uint8Array, at: number): void {
  for (let done = 0; done < bytes.byteLength;) {
    const end = Math.min(bytes.byteLength, done + WRITE_PIECE);
    done += sync.write(bytes.subarray(done, end), { at: at + done });
  }
}

/** Whether sync access handles can be used here (dedicated worker with OPFS). */
export function syncHandlesAvailable(handle: OpfsFileHandle): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; DedicatedWorkerGlobalScope?: unknown };
  return typeof handle.createSyncAccessHandle === "function" &&
    typeof g.DedicatedWorkerGlobalScope !== "undefined" &&
    globalThis instanceof (g.DedicatedWorkerGlobalScope as { new (): unknown });
}

/** Writes a small file whole (sync handle in a worker, writable stream elsewhere). */
export async function writeSmallFile(
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
export async function moveFile(
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
