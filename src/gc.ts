// This module is browser compatible.
/**
 * Garbage collection: mark every blob reachable from an image name or protected by a live
 * lease, sweep the rest. Mark and sweep run inside {@link Leases.exclusive}, the lock that
 * name updates and `Lease.add` take, so an import running at the same time is safe: it
 * adds every digest it is about to check or write to its lease before it looks at the
 * store, and records names before it releases the lease. Whatever it protects before gc
 * takes the lock is marked; whatever it protects after gc released it is checked against
 * the store only then.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./gc.ts";
 * import { MemoryStore } from "./store/memory.ts";
 * import { writeBlob } from "./store/blob.ts";
 * const store = new MemoryStore();
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * const result = await collectGarbage(store);
 * console.log(result.removed.length); // 1
 * ```
 * @module
 */
import type { Digest } from "./digest.ts";
import { InvalidInputError, LimitExceededError, NotFoundError } from "./errors.ts";
import { readDocument } from "./image.ts";
import type { BlobInfo, BlobManager, ImageSource, Leases } from "./store/types.ts";
import type { Descriptor } from "./types.ts";
import { childrenOf, mayHaveChildren, walk } from "./walk.ts";

/** Options of {@link collectGarbage}. */
export interface GcOptions {
  /** Only report what would be removed. */
  readonly dryRun?: boolean;
  /** JSON size cap for documents read while marking (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** Each blob as it is removed (or would be, with `dryRun`). */
  readonly onRemove?: (blob: BlobInfo) => void;
}

/** What {@link collectGarbage} did. */
export interface GcResult {
  /** Blobs removed (or that would be), sorted by digest. */
  readonly removed: BlobInfo[];
  /** Their total size. */
  readonly bytes: number;
  /** Blobs kept. */
  readonly kept: number;
  /** Digests protected only by leases of operations in flight. */
  readonly leased: number;
  /** True when nothing was removed because `dryRun` was set. */
  readonly dryRun: boolean;
}

/**
 * Every digest reachable from the store's names (present or not), plus leased digests.
 * Call it inside {@link Leases.exclusive} when the answer must stay true.
 *
 * @throws {InvalidInputError} when a named document cannot be parsed: its children are
 *   unknown, and nothing it might reach may be removed (fix or remove the name first).
 */
export async function reachableDigests(
  store: ImageSource,
  options: { maxJsonBytes?: number; roots?: readonly Descriptor[] } = {},
): Promise<Map<Digest, string[]>> {
  const reach = new Map<Digest, string[]>();
  const records = options.roots
    ? options.roots.map((target) => ({ name: target.digest, target }))
    : await store.listImages();
  for (const record of records) {
    await walk([record.target], async (d) => {
      const names = reach.get(d.digest);
      if (names) {
        if (!names.includes(record.name)) names.push(record.name);
      } else reach.set(d.digest, [record.name]);
      if (!mayHaveChildren(d) || !(await store.has(d.digest))) return [];
      try {
        return childrenOf(await readDocument(store, d, { maxBytes: options.maxJsonBytes }));
      } catch (e) {
        if (e instanceof NotFoundError) return []; // removed meanwhile: nothing below it
        if (e instanceof InvalidInputError || e instanceof LimitExceededError) {
          throw new InvalidInputError(
            `Cannot tell what image ${record.name} reaches: ${d.mediaType} ${d.digest} is unreadable (${e.message}); remove the name or repair the blob first`,
            { cause: e },
          );
        }
        throw e;
      }
    });
  }
  return reach;
}

/**
 * Removes every blob that no name reaches and no live lease protects.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./gc.ts";
 * import { MemoryStore } from "./store/memory.ts";
 * const result = await collectGarbage(new MemoryStore(), { dryRun: true });
 * console.log(result.removed.length, result.dryRun); // 0 true
 * ```
 */
export function collectGarbage(
  store: ImageSource & BlobManager & Leases,
  options: GcOptions = {},
): Promise<GcResult> {
  return store.exclusive(async () => {
    const reach = await reachableDigests(store, options);
    const leased = await store.leasedDigests();
    const removed: BlobInfo[] = [];
    let kept = 0;
    let onlyLeased = 0;
    for await (const blob of store.list()) {
      if (reach.has(blob.digest)) {
        kept++;
        continue;
      }
      if (leased.has(blob.digest)) {
        kept++;
        onlyLeased++;
        continue;
      }
      removed.push(blob);
    }
    removed.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    const gone: BlobInfo[] = [];
    for (const blob of removed) {
      if (!options.dryRun) {
        try {
          await store.delete(blob.digest);
        } catch (e) {
          if (e instanceof NotFoundError) continue;
          throw e;
        }
      }
      gone.push(blob);
      options.onRemove?.(blob);
    }
    return {
      removed: gone,
      bytes: gone.reduce((n, b) => n + b.size, 0),
      kept,
      leased: onlyLeased,
      dryRun: !!options.dryRun,
    };
  });
}
