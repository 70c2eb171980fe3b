// This module is browser compatible.
/**
 * One graph copy between any content source and any content target (oras-go's `Copy`,
 * containerd's remotes): a store, a registry repository, or anything that can fetch
 * descriptors. Pull is registry → store, push is store → registry, copy is registry →
 * registry; all three are this function with different ends.
 *
 * The walk is {@link walk} with the same document rules as import: every index,
 * manifest and image config is read whole under the JSON cap, hashed, and parsed by
 * `schema.ts` (kind confusion, `data`, configs) before anything is written. Then the
 * leaves (layers, configs) move in parallel, each verified while it streams, and the
 * documents are written children first. Naming is the caller's last step.
 *
 * @example
 * ```ts
 * import { copyGraph, storeSource, storeTarget } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * import { writeBlob } from "@lading/oci";
 * const from = new MemoryStore();
 * const to = new MemoryStore();
 * const d = {
 *   mediaType: "application/octet-stream",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * } as const;
 * await writeBlob(from, new TextEncoder().encode("{}"), d);
 * const result = await copyGraph(storeSource(from, "a"), storeTarget(to, "b"), { root: d });
 * console.log(result.blobs.transferred); // 1
 * ```
 * @module
 */
import { type Digest, digestBytes, shortDigest } from "./digest.ts";
import {
  DigestMismatchError,
  MissingContentError,
  NotFoundError,
  SizeMismatchError,
} from "./errors.ts";
import { isConfigMediaType, isNonDistributable } from "./media_types.ts";
import { formatPlatform } from "./platform.ts";
import { getRuntime } from "./runtime/mod.ts";
import type { Runtime } from "./runtime/types.ts";
import { checkDescriptorData, DEFAULT_JSON_LIMIT, parseConfig } from "./schema.ts";
import { readBlobBytes } from "./store/blob.ts";
import { largeChunks } from "./streams.ts";
import type { BlobIngester, BlobProvider } from "./store/types.ts";
import type { Descriptor, Platform } from "./types.ts";
import {
  childrenOf,
  configPlatform,
  filterPlatforms,
  mayHaveChildren,
  parseDocument,
  walk,
} from "./walk.ts";
import type { MissingBlob } from "./import/mod.ts";

/** Where a copy reads from. */
export interface ContentSource {
  /** For messages: `127.0.0.1:5000/app:1`, `the store`. */
  readonly label: string;
  /**
   * The bytes of a descriptor from `offset`. Need not be verified: the copy (or the
   * target's writer) verifies.
   */
  fetch(
    descriptor: Descriptor,
    options?: { offset?: number; onResume?: (offset: number) => void },
  ): Promise<ReadableStream<Uint8Array>>;
  /** A document (index, manifest, config) whole, at most `maxBytes`. */
  fetchDocument(descriptor: Descriptor, maxBytes: number): Promise<Uint8Array>;
  /** When given: presence, checked for every blob before anything is sent. */
  has?(descriptor: Descriptor): Promise<boolean>;
  /** True when the source's bytes were verified already (a store): no second hashing. */
  readonly verified?: boolean;
}

/** What happened to one blob at the target. */
export type TransferOutcome = "added" | "present" | "mounted";

/** Where a copy writes to. */
export interface ContentTarget {
  /** For messages. */
  readonly label: string;
  /**
   * True when the target verifies size and digest itself (a store's writer; a registry
   * on `PUT`): the copy then does not hash the bytes a second time.
   */
  readonly verifies?: boolean;
  /** True when the target has the blob or document. */
  exists(descriptor: Descriptor): Promise<boolean>;
  /** A document the target already has (a re-pull reads it locally). */
  fetchDocument?(descriptor: Descriptor, maxBytes: number): Promise<Uint8Array>;
  /**
   * Writes a blob from the stream `open(offset)` gives: the bytes from `offset` (a target
   * that kept a partial write asks for the rest; called again for a retry). The target
   * verifies size and digest (a store's writer; a registry checks the digest on `PUT`).
   */
  pushBlob(
    descriptor: Descriptor,
    open: (offset?: number) => Promise<ReadableStream<Uint8Array>>,
    onBytes: (n: number) => void,
  ): Promise<TransferOutcome>;
  /** Writes a verified index or manifest; `tag` (root only) also names it where the target can. */
  pushDocument(descriptor: Descriptor, bytes: Uint8Array, tag?: string): Promise<TransferOutcome>;
  /** Optional: tries a cheaper way than a transfer (a cross-repository mount). */
  mount?(descriptor: Descriptor): Promise<boolean>;
  /**
   * Optional: true when `tag` already names this document (the root of a push, asked
   * instead of {@link exists}). The copy then does not write it again: a second push
   * sends no manifest (crane's check); a tag naming something else is written as before.
   */
  tagged?(descriptor: Descriptor, tag: string): Promise<boolean>;
}

/** Progress of one blob. */
export interface BlobProgress {
  /** The blob. */
  readonly digest: Digest;
  /** Its size in bytes. */
  readonly size: number;
  /** Bytes done so far. */
  readonly done: number;
  /** The blob is finished (`outcome` says how). */
  readonly outcome?: TransferOutcome;
  /**
   * The transfer (re)starts here, at `done`: a resumed download starts at the bytes already
   * there, a retried upload starts again at 0. Bytes below `done` were not moved by it.
   */
  readonly restart?: true;
}

/** Options of {@link copyGraph}. */
export interface CopyGraphOptions {
  /** The root of the graph to copy (an index or a manifest). */
  readonly root: Descriptor;
  /** Keep only these platforms' manifests under an index (the index is kept). Empty: all. */
  readonly platforms?: readonly Platform[];
  /** Blobs in flight at once (default 4). */
  readonly concurrency?: number;
  /** Cap for JSON documents (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** The root's bytes when the caller fetched them already (verified by this function). */
  readonly rootBytes?: Uint8Array;
  /** Passed to the target with the root document (a registry tag). */
  readonly rootTag?: string;
  /**
   * Called once the walk is done and before anything is written, with every digest the
   * copy reaches (a store takes a lease on them).
   */
  readonly beforeWrite?: (digests: readonly Digest[]) => Promise<void>;
  /** Progress of each blob (bytes as they move, then the outcome). */
  readonly onProgress?: (p: BlobProgress) => void;
  /** Non-fatal findings. */
  readonly onWarning?: (message: string) => void;
  /** A blob body that was cut and resumed at `offset`. */
  readonly onResume?: (digest: Digest, offset: number) => void;
  /** Hashing runtime (default: detected). */
  readonly runtime?: Runtime;
  /** Error when an index keeps no manifest for `platforms` (default true). */
  readonly requirePlatformMatch?: boolean;
  /** The name of the image, for messages (`127.0.0.1:5000/x:1`). */
  readonly image?: string;
  /** What the caller does, for messages: `Cannot pull …` (default `copy`). */
  readonly verb?: string;
  /**
   * Copy non-distributable (foreign) layers too, from the source like any blob (never from
   * their `urls`); default: skip them with a warning, as skopeo, crane and containerd do.
   */
  readonly nonDistributable?: boolean;
}

/** What {@link copyGraph} did. */
export interface CopyGraphResult {
  /** The root descriptor. */
  readonly root: Descriptor;
  /** Platforms of the manifests copied (`linux/amd64`), in walk order. */
  readonly platforms: string[];
  /** Every digest the copy reached (for leases and naming). */
  readonly digests: Digest[];
  /** The digests of the image manifests reached (not indexes). */
  readonly manifests: Digest[];
  /** Blob counts and bytes moved. */
  readonly blobs: {
    /** Blobs and documents written to the target. */
    transferred: number;
    /** Blobs the target took by mount. */
    mounted: number;
    /** Already at the target. */
    present: number;
    /** Bytes transferred. */
    bytes: number;
    /** Cut bodies resumed. */
    resumed: number;
  };
}

/** The largest chunk a blob moves in (a byte stream is read into one buffer of this size). */
const LARGE_CHUNK = 1024 * 1024;

interface Node {
  readonly d: Descriptor;
  bytes?: Uint8Array;
  children: Descriptor[];
  document: boolean;
  present?: boolean;
}

/** Runs `fn` over `items` with at most `n` at once; the first failure stops the rest. */
export async function inParallel<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker),
  );
  const bad = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (bad) throw bad.reason;
}

/**
 * Copies the graph under `root` from `source` to `target`: documents are fetched,
 * verified and parsed first; then missing content is refused (when the source can
 * tell), leaves move in parallel, and documents are written children first.
 *
 * @throws {MissingContentError} listing every blob the source lacks (nothing sent);
 *   {DigestMismatchError}/{SizeMismatchError} naming the blob; {InvalidInputError} for
 *   bad documents; errors of the source and target.
 *
 * @example
 * ```ts
 * import { appendLayer, copyGraph, emptyImage, MemoryStore, storeSource, storeTarget, writeImage } from "@lading/oci";
 * const from = new MemoryStore();
 * const image = await writeImage(from, await appendLayer(from, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "example.com/a:1" });
 * const to = new MemoryStore();
 * const result = await copyGraph(storeSource(from), storeTarget(to), { root: image.descriptor });
 * console.log(result.blobs.transferred, await to.has(image.descriptor.digest)); // 3 true (layer, config, manifest)
 * ```
 */
export async function copyGraph(
  source: ContentSource,
  target: ContentTarget,
  options: CopyGraphOptions,
): Promise<CopyGraphResult> {
  const root = options.root;
  const runtime = options.runtime ?? await getRuntime();
  const maxJson = options.maxJsonBytes ?? DEFAULT_JSON_LIMIT;
  const platforms = options.platforms ?? [];
  const image = options.image ?? source.label;
  const cannot = `Cannot ${options.verb ?? "copy"} ${image}`;
  const nodes = new Map<Digest, Node>();
  const order: Digest[] = [];
  const found: string[] = [];
  const manifests: Digest[] = [];
  const skippedForeign = new Set<Digest>();
  let resumed = 0;

  const missing: MissingBlob[] = [];
  const documentBytes = async (
    d: Descriptor,
    isRoot: boolean,
  ): Promise<Uint8Array | undefined> => {
    let bytes: Uint8Array | undefined;
    if (isRoot && options.rootBytes) bytes = options.rootBytes;
    else if (target.fetchDocument && await target.exists(d)) {
      bytes = await target.fetchDocument(d, maxJson).catch(() => undefined);
    }
    if (!bytes && source.has && !(await source.has(d))) {
      missing.push({ digest: d.digest, mediaType: d.mediaType, image });
      return undefined;
    }
    bytes ??= await source.fetchDocument(d, maxJson);
    if (bytes.byteLength !== d.size) {
      throw new SizeMismatchError(
        `${cannot}: ${d.mediaType} ${d.digest} has ${bytes.byteLength} bytes, descriptor says ${d.size}`,
        d.size,
        bytes.byteLength,
      );
    }
    const algorithm = d.digest.startsWith("sha512:") ? "sha512" : "sha256";
    const actual = await digestBytes(runtime, bytes, { algorithm });
    if (actual !== d.digest) {
      throw new DigestMismatchError(
        `${cannot}: ${d.mediaType} ${d.digest} hashes to ${actual}`,
        d.digest,
        actual,
      );
    }
    return bytes;
  };

  await walk([root], async (d, ctx) => {
    const isRoot = ctx.parents.length === 0;
    const where = `${d.mediaType} ${d.digest} of ${image}`;
    if (
      !isRoot && !options.nonDistributable &&
      (isNonDistributable(d.mediaType) || (d.urls && d.urls.length))
    ) {
      options.onWarning?.(
        `${image}: non-distributable blob ${
          shortDigest(d.digest)
        } is not copied (--allow-nondistributable-artifacts copies it)`,
      );
      skippedForeign.add(d.digest);
      return [];
    }
    const node: Node = { d, children: [], document: false };
    nodes.set(d.digest, node);
    const isConfig = isConfigMediaType(d.mediaType);
    if (!mayHaveChildren(d) && !isConfig && d.data === undefined) {
      order.push(d.digest);
      return [];
    }
    const bytes = await documentBytes(d, isRoot);
    if (!bytes) {
      nodes.delete(d.digest);
      return [];
    }
    node.bytes = bytes;
    if (d.data !== undefined) checkDescriptorData(d, bytes);
    if (isConfig) {
      const config = parseConfig(bytes, { what: `config ${d.digest} of ${image}` });
      const parent = ctx.parents.at(-1);
      if (parent && !parent.platform) {
        found.push(formatPlatform(configPlatform(config)));
      }
      order.push(d.digest);
      return [];
    }
    const doc = mayHaveChildren(d)
      ? parseDocument(d, bytes, {
        maxJsonBytes: maxJson,
        onWarning: options.onWarning,
        what: where,
      })
      : undefined;
    if (!doc) {
      order.push(d.digest);
      return [];
    }
    node.document = true;
    if (doc.kind === "manifest") manifests.push(d.digest);
    let children = childrenOf(doc);
    if (doc.kind === "index") {
      const all = children;
      children = filterPlatforms(children, platforms);
      if (platforms.length && (options.requirePlatformMatch ?? true) && isRoot) {
        const manifests = children.filter((c) => c.platform);
        if (manifests.length === 0 && all.some((c) => c.platform)) {
          const have = [
            ...new Set(all.filter((c) => c.platform).map((c) => formatPlatform(c.platform!))),
          ];
          throw new NotFoundError(
            `${cannot}: no manifest for ${
              platforms.map(formatPlatform).join(", ")
            } (the index has ${have.join(", ")}; use --platform or --all-platforms)`,
          );
        }
      }
      for (const c of children) if (c.platform) found.push(formatPlatform(c.platform));
    }
    node.children = [...children];
    order.push(d.digest);
    return children;
  });

  // Children before parents: a post-order over the recorded edges.
  const post: Node[] = [];
  const done = new Set<Digest>();
  const visit = (digest: Digest) => {
    if (done.has(digest)) return;
    done.add(digest);
    const n = nodes.get(digest);
    if (!n) return;
    for (const c of n.children) visit(c.digest);
    post.push(n);
  };
  visit(root.digest);

  const leaves = post.filter((n) => !n.document);
  await options.beforeWrite?.(post.map((n) => n.d.digest));
  if (source.has) {
    await inParallel(leaves, 8, async (n) => {
      if (!(await source.has!(n.d))) {
        missing.push({ digest: n.d.digest, mediaType: n.d.mediaType, image });
      }
    });
    if (missing.length) {
      const lines = missing.map((m) => `  ${m.digest} (${m.mediaType})`);
      throw new MissingContentError(
        `${cannot}: ${missing.length} blob${
          missing.length === 1 ? " is" : "s are"
        } missing from ${source.label}:\n${lines.join("\n")}`,
        missing,
      );
    }
  }

  const counts = { transferred: 0, mounted: 0, present: 0, bytes: 0, resumed: 0 };
  const concurrency = options.concurrency ?? 4;
  let rootTagged = false;
  await inParallel(post, 16, async (n) => {
    if (n.d.digest === root.digest && options.rootTag && target.tagged) {
      n.present = rootTagged = await target.tagged(n.d, options.rootTag);
    } else n.present = await target.exists(n.d);
  });
  const toSend = leaves.filter((n) => !n.present);
  counts.present += leaves.length - toSend.length;
  for (const n of leaves) {
    if (n.present) {
      options.onProgress?.({
        digest: n.d.digest,
        size: n.d.size,
        done: n.d.size,
        outcome: "present",
      });
    }
  }
  // Largest first: the longest transfers start early. Announce them all first, so a
  // progress display knows the total from the start.
  toSend.sort((a, b) => b.d.size - a.d.size);
  for (const n of toSend) options.onProgress?.({ digest: n.d.digest, size: n.d.size, done: 0 });
  await inParallel(toSend, concurrency, async (n) => {
    const d = n.d;
    if (target.mount && await target.mount(d)) {
      counts.mounted++;
      options.onProgress?.({ digest: d.digest, size: d.size, done: d.size, outcome: "mounted" });
      return;
    }
    let done = 0;
    const open = async (offset = 0) => {
      done = offset;
      options.onProgress?.({ digest: d.digest, size: d.size, done, restart: true });
      if (n.bytes) return new Blob([n.bytes.subarray(offset) as BlobPart]).stream();
      if (offset > 0) {
        resumed++;
        options.onResume?.(d.digest, offset);
      }
      const stream = await source.fetch(d, {
        offset,
        onResume: (offset) => {
          resumed++;
          options.onResume?.(d.digest, offset);
        },
      });
      if (source.verified || target.verifies) return stream;
      if (offset > 0) throw new TypeError("a target that does not verify cannot resume");
      return stream.pipeThrough(await verifying(runtime, d, cannot));
    };
    const outcome = await target.pushBlob(d, open, (bytes) => {
      done += bytes;
      options.onProgress?.({ digest: d.digest, size: d.size, done });
    });
    if (outcome === "present") counts.present++;
    else if (outcome === "mounted") counts.mounted++;
    else {
      counts.transferred++;
      counts.bytes += d.size;
    }
    options.onProgress?.({ digest: d.digest, size: d.size, done: d.size, outcome });
  });

  for (const n of post) {
    if (!n.document) continue;
    const isRoot = n.d.digest === root.digest;
    if (n.present && (!(isRoot && options.rootTag) || rootTagged)) {
      counts.present++;
      continue;
    }
    const outcome = await target.pushDocument(n.d, n.bytes!, isRoot ? options.rootTag : undefined);
    if (outcome === "present" || n.present) counts.present++;
    else {
      counts.transferred++;
      counts.bytes += n.d.size;
    }
  }
  counts.resumed = resumed;
  const digests = [...nodes.keys()].filter((d) => !skippedForeign.has(d));
  return { root, platforms: [...new Set(found)], digests, manifests, blobs: counts };
}

/** A pass-through that checks size and digest, naming the blob and the image. */
async function verifying(
  runtime: Runtime,
  d: Descriptor,
  cannot: string,
): Promise<TransformStream<Uint8Array, Uint8Array>> {
  const algorithm = d.digest.startsWith("sha512:") ? "sha512" : "sha256";
  const hasher = await runtime.createHasher(algorithm);
  let count = 0;
  return new TransformStream({
    transform(chunk, controller) {
      count += chunk.byteLength;
      if (count > d.size) {
        throw new SizeMismatchError(
          `${cannot}: blob ${d.digest} has more than ${d.size} bytes, descriptor says ${d.size}`,
          d.size,
          count,
        );
      }
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      if (count !== d.size) {
        throw new SizeMismatchError(
          `${cannot}: blob ${d.digest} has ${count} bytes, descriptor says ${d.size}`,
          d.size,
          count,
        );
      }
      const actual = `${algorithm}:${hasher.digest()}`;
      if (actual !== d.digest) {
        throw new DigestMismatchError(
          `${cannot}: blob ${d.digest} hashes to ${actual}: the bytes do not match the digest`,
          d.digest,
          actual,
        );
      }
    },
  });
}

/**
 * A store as a copy source: committed, verified blobs (push reads from here).
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, storeSource, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const image = await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "example.com/a:1" });
 * const source = storeSource(store, "my store");
 * const manifest = await source.fetchDocument(image.descriptor, 4 << 20);
 * console.log(source.label, JSON.parse(new TextDecoder().decode(manifest)).layers.length); // my store 1
 * ```
 */
export function storeSource(store: BlobProvider, label = "the store"): ContentSource {
  return {
    label,
    verified: true,
    fetch: (d, options) => store.reader(d.digest, { offset: options?.offset }),
    fetchDocument: (d, max) => readBlobBytes(store, d.digest, { maxJsonBytes: max }),
    has: (d) => store.has(d.digest),
  };
}

/**
 * A store as a copy target: every blob streams into the store's writer, which hashes
 * it as it arrives and makes it visible only when size and digest match.
 *
 * @example
 * ```ts
 * import { MemoryRegistry } from "@lading/oci/testing";
 * import { copyGraph, MemoryStore, RegistryClient, registrySource, storeTarget, appendLayer, emptyImage, pushImage, writeImage } from "@lading/oci";
 * const registry = new MemoryRegistry();
 * const client = new RegistryClient("registry.test", { fetch: registry.fetch });
 * const local = new MemoryStore();
 * await writeImage(local, await appendLayer(local, emptyImage(), { files: [{ path: "a", content: "a" }] }), { name: "a:1" });
 * await pushImage(local, "a:1", { to: "registry.test/team/a:1", client });
 * // Fetch the graph into another store without naming it (pullImage also names it):
 * const { descriptor } = await client.resolve("team/a", "1");
 * const store = new MemoryStore();
 * await copyGraph(registrySource(client, "team/a"), storeTarget(store), { root: descriptor });
 * console.log(await store.has(descriptor.digest), (await store.listImages()).length); // true 0
 * ```
 */
export function storeTarget(
  store: BlobProvider & BlobIngester,
  label = "the store",
): ContentTarget {
  return {
    label,
    verifies: true,
    exists: (d) => store.has(d.digest),
    fetchDocument: (d, max) => readBlobBytes(store, d.digest, { maxJsonBytes: max }),
    async pushBlob(d, open, onBytes) {
      // Resumable: a partial download an earlier (killed or failed) pull left continues.
      const writer = await store.writer({ resume: d.digest, size: d.size });
      let stream: ReadableStream<Uint8Array> | undefined;
      try {
        stream = await open(writer.offset ?? 0);
        // Read into one reused buffer (no allocation per read: a writer is done with a chunk
        // when its write settles).
        const size = Math.min(LARGE_CHUNK, Math.max(64 * 1024, d.size - (writer.offset ?? 0)));
        for await (const chunk of largeChunks(stream, { size })) {
          await writer.write(chunk);
          onBytes(chunk.byteLength);
        }
        const { added } = await writer.commit({
          digest: d.digest,
          size: d.size,
          what: d.mediaType,
        });
        return added ? "added" : "present";
      } catch (e) {
        // Bytes that failed verification are dropped; a transfer that broke off keeps
        // what it wrote for the next pull.
        await writer.abort({
          discard: e instanceof DigestMismatchError || e instanceof SizeMismatchError,
        });
        await stream?.cancel(e).catch(() => {});
        throw e;
      }
    },
    pushDocument(d, bytes) {
      return this.pushBlob(
        d,
        () => Promise.resolve(new Blob([bytes as BlobPart]).stream()),
        () => {},
      );
    },
  };
}
