// This module is browser compatible.
/**
 * Writing a planned archive: blob bytes piped from the store in large chunks (re-hashed
 * when verifying), each checked against its descriptor before and after it is copied.
 * @module
 */
import { DigestMismatchError, SizeMismatchError } from "../errors.ts";
import type { Hasher, Runtime } from "../runtime/types.ts";
import { largeChunks } from "../streams.ts";
import type { BlobProvider } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import type { ArchivePart } from "./members.ts";

/**
 * Checks, right before a blob is read, that the store still has it with the planned size.
 * @throws {SizeMismatchError}, or the store's {@link NotFoundError}
 */
export async function checkStoredBlob(store: BlobProvider, d: Descriptor): Promise<void> {
  const info = await store.info(d.digest);
  if (info.size !== d.size) {
    throw new SizeMismatchError(
      `Cannot export: blob ${d.digest} has ${info.size} bytes, its descriptor says ${d.size}`,
      d.size,
      info.size,
    );
  }
}

/**
 * Checks what was copied of a blob: `copied` bytes (more than `d.size` means the copy
 * stopped early at a grown blob) and, when verifying, the digest the bytes hash to.
 * @throws {SizeMismatchError} | {DigestMismatchError}
 */
export function checkCopiedBlob(d: Descriptor, copied: number, actual?: string): void {
  if (copied !== d.size) {
    throw new SizeMismatchError(
      `Cannot export: blob ${d.digest} has ${
        copied > d.size ? `more than ${d.size}` : copied
      } bytes, its descriptor says ${d.size}`,
      d.size,
      copied,
    );
  }
  if (actual !== undefined && actual !== d.digest) {
    throw new DigestMismatchError(
      `Cannot export: blob ${d.digest} in the store hashes to ${actual}; run 'lading content verify'`,
      d.digest,
      actual,
    );
  }
}

/** The hasher for `d`'s algorithm, or none. */
export async function blobHasher(
  runtime: () => Promise<Runtime>,
  d: Descriptor,
  verify: boolean,
): Promise<{ hasher: Hasher; algorithm: string } | undefined> {
  if (!verify) return undefined;
  const algorithm = d.digest.startsWith("sha512:") ? "sha512" : "sha256";
  return { hasher: await (await runtime()).createHasher(algorithm), algorithm };
}

/** Writes `parts` into `sink` and closes it; on failure aborts it and rejects. */
export async function writeArchive(
  store: BlobProvider,
  parts: readonly ArchivePart[],
  sink: WritableStream<Uint8Array>,
  options: {
    runtime: () => Promise<Runtime>;
    verify: boolean;
    gzip?: boolean | number;
    onProgress?: (bytes: number) => void;
    reuseBuffers?: boolean;
  },
): Promise<void> {
  let out = sink;
  let compressed: Promise<void> | undefined;
  if (options.gzip) {
    const gz = (await options.runtime()).gzip(options.gzip === true ? 6 : options.gzip);
    compressed = gz.readable.pipeTo(sink);
    compressed.catch(() => {});
    out = gz.writable;
  }
  let total = 0;
  const progress = options.onProgress;
  const count = (n: number) => {
    total += n;
    progress?.(total);
  };
  // One writer for the whole archive: Deno's pipeTo between two resource streams takes a
  // shortcut past the writable's queue, so mixing it with writer writes reorders bytes.
  // Writes are not awaited one by one (only `ready`): reading the next chunk overlaps
  // writing the previous one.
  const w = out.getWriter();
  try {
    for (const part of parts) {
      if ("bytes" in part) {
        await w.ready;
        w.write(part.bytes).catch(() => {}); // a failed write rejects `ready` and `close`
        count(part.bytes.byteLength);
        continue;
      }
      const d = part.blob;
      await checkStoredBlob(store, d);
      const hashing = await blobHasher(options.runtime, d, options.verify);
      // Reused buffers go round six slots with one read ahead, so a chunk stays valid for
      // four more; at most three writes are in flight, so no buffer is read into while a
      // write still holds it.
      const reuse = !!options.reuseBuffers && !options.gzip;
      const chunks = largeChunks(
        await store.reader(d.digest),
        reuse ? { buffers: 6, readAhead: 1 } : { fresh: true, readAhead: 1 },
      );
      const writing: Promise<void>[] = [];
      let n = 0;
      for await (const chunk of chunks) {
        n += chunk.byteLength;
        if (n > d.size) break;
        hashing?.hasher.update(chunk);
        await w.ready;
        const written = w.write(chunk);
        written.catch(() => {}); // a failed write rejects `ready` and `close`
        count(chunk.byteLength);
        if (reuse) {
          writing.push(written);
          if (writing.length >= 3) await writing.shift();
        }
      }
      await Promise.all(writing);
      checkCopiedBlob(d, n, hashing && `${hashing.algorithm}:${hashing.hasher.digest()}`);
    }
    await w.close();
    await compressed;
  } catch (e) {
    await w.abort(e).catch(() => {});
    if (out !== sink) await sink.abort(e).catch(() => {});
    throw e;
  }
}
