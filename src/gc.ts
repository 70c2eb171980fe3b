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
 * import { collectGarbage } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * import { writeBlob } from "@lading/oci";
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
import type {
  BlobInfo,
  BlobManager,
  BlobProvider,
  ImageSource,
  Leases,
  NameReader,
} from "./store/types.ts";
import type { Descriptor } from "./types.ts";
import {
  childrenHandler,
  type DocumentCache,
  type Handler,
  rootsReaching,
  walk,
  walkGraph,
} from "./walk.ts";

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
 * The marking handler: the children of each descriptor (each document read once with
 * `cache`). A named document that cannot be parsed stops the walk: its children are
 * unknown, and nothing it might reach may be removed.
 */
function markHandler(
  store: BlobProvider,
  nameOf: (root: Descriptor) => string,
  options: { maxJsonBytes?: number; cache?: DocumentCache },
): Handler {
  const children = childrenHandler(store, {
    maxJsonBytes: options.maxJsonBytes,
    cache: options.cache,
  });
  return async (d, context) => {
    try {
      return await children(d, context);
    } catch (e) {
      if (e instanceof InvalidInputError || e instanceof LimitExceededError) {
        const root = context.parents[0] ?? d;
        throw new InvalidInputError(
          `Cannot tell what image ${
            nameOf(root)
          } reaches: ${d.mediaType} ${d.digest} is unreadable (${e.message}); remove the name or repair the blob first`,
          { cause: e },
        );
      }
      throw e;
    }
  };
}

/** The store's names (or `roots`, named by their digests) by target digest. */
async function rootsOf(
  store: NameReader,
  roots: readonly Descriptor[] | undefined,
): Promise<Map<Digest, { target: Descriptor; names: string[] }>> {
  const records = roots
    ? roots.map((target) => ({ name: target.digest, target }))
    : await store.listImages();
  const byTarget = new Map<Digest, { target: Descriptor; names: string[] }>();
  for (const r of records) {
    const group = byTarget.get(r.target.digest);
    if (group) group.names.push(r.name);
    else byTarget.set(r.target.digest, { target: r.target, names: [r.name] });
  }
  return byTarget;
}

/**
 * Every digest reachable from the store's names (present or not), with the names that
 * reach it. Call it inside {@link Leases.exclusive} when the answer must stay true.
 * One walk over every name's target (each digest visited once, each document read once),
 * then the names are handed down the edges.
 *
 * @throws {InvalidInputError} when a named document cannot be parsed: its children are
 *   unknown, and nothing it might reach may be removed (fix or remove the name first).
 *
 * @example
 * ```ts
 * import { appendLayer, reachableDigests, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * console.log((await reachableDigests(store)).size); // 3
 * ```
 */
export async function reachableDigests(
  store: ImageSource,
  options: { maxJsonBytes?: number; roots?: readonly Descriptor[] } = {},
): Promise<Map<Digest, string[]>> {
  const groups = [...(await rootsOf(store, options.roots)).values()];
  const byTarget = new Map(groups.map((g) => [g.target.digest, g]));
  const roots = groups.map((g) => g.target);
  const graph = await walkGraph(
    roots,
    markHandler(store, (root) => byTarget.get(root.digest)!.names[0], options),
  );
  const reach = new Map<Digest, string[]>();
  for (const [digest, reaching] of rootsReaching(graph, roots.map((r) => r.digest))) {
    reach.set(digest, reaching.flatMap((i) => groups[i].names));
  }
  return reach;
}

/** Every digest reachable from the store's names: one walk over all of them. */
async function reachableSet(
  store: ImageSource,
  options: { maxJsonBytes?: number },
): Promise<Set<Digest>> {
  const groups = await rootsOf(store, undefined);
  // Entries without a name (another tool's untagged copy into the layout) are roots too.
  for (const target of (await store.listUnnamedImages?.()) ?? []) {
    if (!groups.has(target.digest)) {
      groups.set(target.digest, { target, names: [`(no name) ${target.digest}`] });
    }
  }
  const reach = new Set<Digest>();
  const roots = [...groups.values()].map((g) => g.target);
  const handler = markHandler(store, (root) => groups.get(root.digest)!.names[0], {
    ...options,
    cache: new Map(),
  });
  await walk(roots, (d, context) => {
    reach.add(d.digest);
    return handler(d, context);
  });
  return reach;
}

/**
 * Removes every blob that no name reaches and no live lease protects (in a layout store,
 * what index.json entries without a name reach is kept too).
 *
 * @example
 * ```ts
 * import { collectGarbage } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * const result = await collectGarbage(new MemoryStore(), { dryRun: true });
 * console.log(result.removed.length, result.dryRun); // 0 true
 * ```
 */
export function collectGarbage(
  store: ImageSource & BlobManager & Leases,
  options: GcOptions = {},
): Promise<GcResult> {
  return store.exclusive(async () => {
    const reach = await reachableSet(store, options);
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
