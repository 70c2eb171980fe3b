// This module is browser compatible.
/**
 * Free functions over {@link ContentStore}: write a verified blob from a stream or bytes,
 * read a small document whole (with a cap).
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { readBlobBytes, writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * console.log(new TextDecoder().decode(await readBlobBytes(store, digest))); // {}
 * ```
 * @module
 */
import type { Digest, Expectation } from "../digest.ts";
import { LimitExceededError } from "../errors.ts";
import type { BlobIngester, BlobProvider } from "./types.ts";
import { concatBytes } from "../streams.ts";

/** Default cap for JSON documents read whole: 4 MiB. */
export const DEFAULT_DOCUMENT_LIMIT = 4 * 1024 * 1024;

/**
 * Streams `source` into the store, verifying size and digest; the blob becomes visible
 * only when both match. On any error nothing is left behind.
 *
 * @example
 * ```ts
 * import { MemoryStore, writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * console.log(await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 })); // { added: true }
 * ```
 */
export async function writeBlob(
  store: BlobIngester,
  source: ReadableStream<Uint8Array> | Uint8Array,
  expected: Expectation,
): Promise<{ added: boolean }> {
  const writer = await store.writer();
  try {
    if (source instanceof Uint8Array) {
      await writer.write(source);
    } else {
      for await (const chunk of source) await writer.write(chunk);
    }
    return await writer.commit(expected);
  } catch (e) {
    await writer.abort();
    if (!(source instanceof Uint8Array)) await source.cancel(e).catch(() => {});
    throw e;
  }
}

/** Reads a whole stream into one array, refusing more than `limit` bytes. */
export async function readAllBytes(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  what = "document",
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > limit) {
      await stream.cancel().catch(() => {});
      throw new LimitExceededError(
        `${what} is larger than the ${limit}-byte limit for JSON documents`,
      );
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks, total);
}

/**
 * Reads a committed blob whole (for JSON documents), refusing more than `maxJsonBytes`
 * bytes (default 4 MiB).
 *
 * @example
 * ```ts
 * import { MemoryStore, readBlobBytes, writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * console.log(new TextDecoder().decode(await readBlobBytes(store, digest))); // {}
 * ```
 */
export async function readBlobBytes(
  store: BlobProvider,
  digest: Digest,
  options: { readonly maxJsonBytes?: number } = {},
): Promise<Uint8Array> {
  const limit = options.maxJsonBytes ?? DEFAULT_DOCUMENT_LIMIT;
  const info = await store.info(digest);
  if (info.size > limit) {
    throw new LimitExceededError(
      `blob ${digest} has ${info.size} bytes, more than the ${limit}-byte limit for JSON documents`,
    );
  }
  if (store.readSmall) return await store.readSmall(digest, limit);
  return readAllBytes(await store.reader(digest), limit, `blob ${digest}`);
}
