// This module is browser compatible.
/**
 * One graph walk over descriptors, composed from handlers (containerd's `images.Walk`,
 * `ChildrenHandler`, `FilterPlatforms`), and its kit: documents read from any
 * {@link BlobProvider} (memoized per digest when given a {@link DocumentCache}), a
 * children handler, a platform filter, blob presence ("present with the right size") and
 * an image config's platform. Import checking, export, gc, check, pull and push, image
 * summaries and layer listing are this walk with different handlers.
 *
 * @example
 * ```ts
 * import { walk } from "@lading/oci";
 * import type { Descriptor } from "./types.ts";
 * const root: Descriptor = {
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * };
 * const seen: string[] = [];
 * await walk([root], (d) => {
 *   seen.push(d.digest);
 *   return Promise.resolve([]);
 * });
 * console.log(seen.length); // 1
 * ```
 * @module
 */
import { type Digest, shortDigest } from "./digest.ts";
import { InvalidInputError, LimitExceededError, NotFoundError } from "./errors.ts";
import { isConfigMediaType, isIndexMediaType, isManifestMediaType } from "./media_types.ts";
import { platformMatches } from "./platform.ts";
import { detectDocumentKind, parseConfig, parseIndex, parseJson, parseManifest } from "./schema.ts";
import { readBlobBytes } from "./store/blob.ts";
import type { BlobProvider } from "./store/types.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./types.ts";

/** Where a descriptor sits in the walk. */
export interface WalkContext {
  /** The descriptors from the root down to (not including) this one. */
  readonly parents: readonly Descriptor[];
}

/** Visits a descriptor and returns the children to walk next. */
export type Handler = (
  descriptor: Descriptor,
  context: WalkContext,
) => Promise<readonly Descriptor[]>;

/** Limits of a walk. */
export interface WalkOptions {
  /** Deepest nesting of indexes and manifests (default 16). */
  readonly maxDepth?: number;
  /** Most descriptors visited (default 100000). */
  readonly maxNodes?: number;
}

/**
 * Walks depth-first from `roots`, visiting each digest once. A descriptor that is its
 * own ancestor is an index cycle and is refused; so is nesting deeper than `maxDepth`.
 *
 * @example
 * ```ts
 * import { childrenOf, emptyImage, isConfigMediaType, MemoryStore, readDocument, walk, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * const seen: string[] = [];
 * await walk([descriptor], async (d) => {
 *   seen.push(d.mediaType);
 *   return isConfigMediaType(d.mediaType) ? [] : childrenOf(await readDocument(store, d));
 * });
 * console.log(seen.length); // 2
 * ```
 */
export async function walk(
  roots: readonly Descriptor[],
  handler: Handler,
  options: WalkOptions = {},
): Promise<void> {
  const maxDepth = options.maxDepth ?? 16;
  const maxNodes = options.maxNodes ?? 100_000;
  const visited = new Set<string>();
  const visit = async (d: Descriptor, parents: Descriptor[]): Promise<void> => {
    if (parents.some((p) => p.digest === d.digest)) {
      throw new InvalidInputError(
        `index cycle: ${
          [...parents, d].map((p) => shortDigest(p.digest)).join(" -> ")
        } refers back to itself`,
      );
    }
    if (parents.length > maxDepth) {
      throw new LimitExceededError(
        `nesting deeper than ${maxDepth} levels at ${shortDigest(d.digest)}`,
      );
    }
    if (visited.has(d.digest)) return;
    visited.add(d.digest);
    if (visited.size > maxNodes) {
      throw new LimitExceededError(`more than ${maxNodes} descriptors in one walk`);
    }
    const children = await handler(d, { parents });
    const next = [...parents, d];
    for (const c of children) await visit(c, next);
  };
  for (const r of roots) await visit(r, []);
}

/** A walked graph: every node visited once, with the children its handler returned. */
export interface WalkedGraph {
  /** The visited descriptors by digest, in visiting order, each with its children's digests. */
  readonly nodes: ReadonlyMap<
    Digest,
    { readonly descriptor: Descriptor; readonly children: readonly Digest[] }
  >;
}

/**
 * {@link walk} that keeps the edges: one walk from every root (each digest visited once,
 * whichever root reaches it first), so questions about many roots — which roots reach a
 * blob, see {@link rootsReaching} — need no second walk.
 *
 * @example
 * ```ts
 * import { childrenHandler, emptyImage, MemoryStore, walkGraph, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * const graph = await walkGraph([descriptor, descriptor], childrenHandler(store));
 * console.log(graph.nodes.size); // 2 (the manifest and its config, visited once)
 * ```
 */
export async function walkGraph(
  roots: readonly Descriptor[],
  handler: Handler,
  options: WalkOptions = {},
): Promise<WalkedGraph> {
  const nodes = new Map<Digest, { descriptor: Descriptor; children: Digest[] }>();
  await walk(roots, async (d, context) => {
    const children = await handler(d, context);
    nodes.set(d.digest, { descriptor: d, children: children.map((c) => c.digest) });
    return children;
  }, options);
  return { nodes };
}

/**
 * For every node of `graph`, the positions in `roots` (ascending) of the roots that reach
 * it, in one pass over the edges in topological order (a node's roots are its own and its
 * parents'), instead of one walk per root.
 *
 * @example
 * ```ts
 * import { childrenHandler, emptyImage, MemoryStore, rootsReaching, walkGraph, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * const graph = await walkGraph([descriptor], childrenHandler(store));
 * console.log(rootsReaching(graph, [descriptor.digest]).get(descriptor.digest)); // [ 0 ]
 * ```
 */
export function rootsReaching(
  graph: WalkedGraph,
  roots: readonly Digest[],
): Map<Digest, number[]> {
  // Reverse post-order from the roots: every parent before its children.
  const post: Digest[] = [];
  const done = new Set<Digest>();
  const visit = (d: Digest) => {
    if (done.has(d)) return;
    done.add(d);
    for (const c of graph.nodes.get(d)?.children ?? []) visit(c);
    post.push(d);
  };
  for (const r of roots) visit(r);
  const reaching = new Map<Digest, Set<number>>();
  const setOf = (d: Digest) => {
    let set = reaching.get(d);
    if (!set) reaching.set(d, set = new Set());
    return set;
  };
  roots.forEach((r, i) => setOf(r).add(i));
  for (let i = post.length - 1; i >= 0; i--) {
    const d = post[i];
    const own = setOf(d);
    for (const c of graph.nodes.get(d)?.children ?? []) {
      const theirs = setOf(c);
      for (const r of own) theirs.add(r);
    }
  }
  const out = new Map<Digest, number[]>();
  for (const d of post) out.set(d, [...reaching.get(d)!].sort((a, b) => a - b));
  return out;
}

/** A parsed index or manifest, as the children handler sees it. */
export type Document =
  | { readonly kind: "index"; readonly index: ImageIndex }
  | { readonly kind: "manifest"; readonly manifest: ImageManifest };

/** Reads a document's bytes (from a store, an archive, a registry). */
export type Fetch = (descriptor: Descriptor) => Promise<Uint8Array>;

/** Options for {@link parseDocument}. */
export interface ParseDocumentOptions {
  /** JSON size cap. */
  readonly maxJsonBytes?: number;
  /** Receives same-kind media type differences. */
  readonly onWarning?: (message: string) => void;
  /** Label for messages. */
  readonly what?: string;
}

/** True when a descriptor points at an index or manifest (or might: unknown types are sniffed). */
export function isDocumentDescriptor(d: Descriptor): boolean {
  return isIndexMediaType(d.mediaType) || isManifestMediaType(d.mediaType);
}

/**
 * Parses the bytes of an index or manifest descriptor, rejecting kind confusion. For a
 * descriptor of another type it returns `undefined` (a blob without children).
 */
export function parseDocument(
  d: Descriptor,
  bytes: Uint8Array,
  options: ParseDocumentOptions = {},
): Document | undefined {
  const what = options.what ?? `${d.mediaType} ${d.digest}`;
  const opts = { ...options, what, descriptor: d };
  if (isIndexMediaType(d.mediaType)) return { kind: "index", index: parseIndex(bytes, opts) };
  if (isManifestMediaType(d.mediaType)) {
    return { kind: "manifest", manifest: parseManifest(bytes, opts) };
  }
  // A descriptor without a known document type (for example the bare
  // application/vnd.oci.descriptor.v1+json some layouts use): sniff the body.
  const value = parseJson(bytes, { maxJsonBytes: options.maxJsonBytes, what });
  const kind = detectDocumentKind(value);
  if (kind === "index") {
    return { kind, index: parseIndex(bytes, { ...opts, descriptor: undefined }) };
  }
  if (kind === "manifest") {
    return { kind, manifest: parseManifest(bytes, { ...opts, descriptor: undefined }) };
  }
  return undefined;
}

/**
 * The children of a parsed document: index → manifests; manifest → config, layers.
 *
 * @example
 * ```ts
 * import { childrenOf, emptyImage, MemoryStore, readDocument, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * console.log(childrenOf(await readDocument(store, descriptor)).length); // 1 (the config)
 * ```
 */
export function childrenOf(doc: Document | undefined): readonly Descriptor[] {
  if (!doc) return [];
  if (doc.kind === "index") return doc.index.manifests;
  return [doc.manifest.config, ...doc.manifest.layers];
}

/** True for descriptors that may carry children and must be fetched to walk on. */
export function mayHaveChildren(d: Descriptor): boolean {
  if (isDocumentDescriptor(d)) return true;
  if (isConfigMediaType(d.mediaType)) return false;
  return d.mediaType === "application/vnd.oci.descriptor.v1+json";
}

/**
 * Keeps only the index entries whose platform matches one of `platforms` (entries
 * without a platform, such as nested indexes, are kept). An empty list keeps all.
 *
 * @example
 * ```ts
 * import { filterPlatforms } from "@lading/oci";
 * const d = (architecture: string) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"a".repeat(64)}` as const, size: 1, platform: { os: "linux", architecture } });
 * console.log(filterPlatforms([d("amd64"), d("arm64")], [{ os: "linux", architecture: "arm64" }]).length); // 1
 * ```
 */
export function filterPlatforms(
  children: readonly Descriptor[],
  platforms: readonly Platform[],
): readonly Descriptor[] {
  if (platforms.length === 0) return children;
  return children.filter((c) =>
    !c.platform || platforms.some((p) => platformMatches(p, c.platform!))
  );
}

/** Options for reading documents out of a store. */
export interface ReadOptions {
  /** JSON size cap (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** Receives warnings (same-kind media type differences). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Parsed documents by digest, shared by the walks of one operation, so a document that
 * many entries or names reach is read and parsed once (a hostile index of N entries
 * pointing at one index of N manifests costs N, not N²).
 */
export type DocumentCache = Map<Digest, Promise<Document | undefined>>;

/**
 * Reads and parses the index or manifest a descriptor points at (`undefined` for a blob
 * that is neither). With `cache`, each digest is read once.
 *
 * @example
 * ```ts
 * import { emptyImage, MemoryStore, readDocument, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * console.log((await readDocument(store, descriptor))?.kind); // manifest
 * ```
 */
export function readDocument(
  store: BlobProvider,
  descriptor: Descriptor,
  options: ReadOptions & { readonly cache?: DocumentCache } = {},
): Promise<Document | undefined> {
  const read = async () => {
    const bytes = await readBlobBytes(store, descriptor.digest, options);
    return parseDocument(descriptor, bytes, options);
  };
  const cache = options.cache;
  if (!cache) return read();
  let doc = cache.get(descriptor.digest);
  if (!doc) {
    doc = read();
    cache.set(descriptor.digest, doc);
    doc.catch(() => cache.delete(descriptor.digest));
  }
  return doc;
}

/**
 * Reads and parses an image config.
 *
 * @example
 * ```ts
 * import { emptyImage, MemoryStore, readConfig, readDocument, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * const doc = await readDocument(store, descriptor);
 * if (doc?.kind === "manifest") console.log((await readConfig(store, doc.manifest.config)).os); // linux
 * ```
 */
export async function readConfig(
  store: BlobProvider,
  descriptor: Descriptor,
  options: ReadOptions = {},
): Promise<ImageConfig> {
  const bytes = await readBlobBytes(store, descriptor.digest, options);
  return parseConfig(bytes, { ...options, what: `config ${descriptor.digest}` });
}

/** Options of {@link childrenHandler}. */
export interface ChildrenOptions extends ReadOptions {
  /** Documents already read by this operation (see {@link DocumentCache}). */
  readonly cache?: DocumentCache;
}

/**
 * The handler that walks an image graph held by `provider`: an index's entries, a
 * manifest's config and layers. A blob the provider does not have, and a blob that is not
 * a document, have no children. Compose it: {@link filterByPlatform} around it, or call
 * it from a handler that records what it visits.
 *
 * @example
 * ```ts
 * import { childrenHandler, emptyImage, MemoryStore, walk, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * const seen: string[] = [];
 * const children = childrenHandler(store, { cache: new Map() });
 * await walk([descriptor], (d, context) => {
 *   seen.push(d.mediaType);
 *   return children(d, context);
 * });
 * console.log(seen.length); // 2 (the manifest and its config)
 * ```
 */
export function childrenHandler(provider: BlobProvider, options: ChildrenOptions = {}): Handler {
  const cache = options.cache ?? new Map();
  return async (d) => {
    if (!mayHaveChildren(d)) return [];
    try {
      return childrenOf(await readDocument(provider, d, { ...options, cache }));
    } catch (e) {
      if (e instanceof NotFoundError) return [];
      throw e;
    }
  };
}

/**
 * Wraps a handler so that under an index only the entries of `platforms` are walked
 * (entries without a platform, such as nested indexes, stay). Empty: all.
 *
 * @example
 * ```ts
 * import { childrenHandler, emptyImage, filterByPlatform, MemoryStore, walk, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const { descriptor } = await writeImage(store, emptyImage());
 * const handler = filterByPlatform(childrenHandler(store), [{ os: "linux", architecture: "arm64" }]);
 * let visited = 0;
 * await walk([descriptor], (d, context) => {
 *   visited++;
 *   return handler(d, context);
 * });
 * console.log(visited); // 2 (a manifest's config is not filtered, only index entries are)
 * ```
 */
export function filterByPlatform(handler: Handler, platforms: readonly Platform[]): Handler {
  if (platforms.length === 0) return handler;
  // A manifest's config and layers carry no platform: only index entries are filtered.
  return async (d, context) => filterPlatforms(await handler(d, context), platforms);
}

/**
 * What a provider holds of a descriptor: `"missing"`, `"present"` (with the size the
 * descriptor says), or `{ size }` — present, with another size.
 */
export type BlobPresence = "missing" | "present" | { readonly size: number };

/** Whether `provider` has the blob of `d` with the right size (see {@link BlobPresence}). *
 * @example
 * ```ts
 * import { blobPresence, MemoryStore, writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const d = {
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * } as const;
 * console.log(await blobPresence(store, d)); // missing
 * await writeBlob(store, new TextEncoder().encode("{}"), d);
 * console.log(await blobPresence(store, d)); // present
 * console.log(await blobPresence(store, { ...d, size: 3 })); // { size: 2 }
 * ```
 */
export async function blobPresence(provider: BlobProvider, d: Descriptor): Promise<BlobPresence> {
  if (!(await provider.has(d.digest))) return "missing";
  let size: number;
  try {
    size = (await provider.info(d.digest)).size;
  } catch (e) {
    if (e instanceof NotFoundError) return "missing"; // removed meanwhile
    throw e;
  }
  return size === d.size ? "present" : { size };
}

/** The platform an image config describes (`os`, `architecture`, `variant`, `os.version`). *
 * @example
 * ```ts
 * import { configPlatform } from "@lading/oci";
 * const config = { architecture: "arm", os: "linux", variant: "v7", rootfs: { type: "layers", diff_ids: [] } };
 * console.log(configPlatform(config)); // { os: "linux", architecture: "arm", variant: "v7" }
 * ```
 */
export function configPlatform(config: ImageConfig): Platform {
  return {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
    ...(config["os.version"] ? { "os.version": config["os.version"] } : {}),
  };
}
