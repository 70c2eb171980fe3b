// This module is browser compatible.
/**
 * One graph walk over descriptors, composed from handlers (containerd's `images.Walk`,
 * `ChildrenHandler`, `FilterPlatforms`). Import checking, export, gc, check and layer
 * listing are this walk with different handlers.
 *
 * @example
 * ```ts
 * import { walk } from "./walk.ts";
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
import { shortDigest } from "./digest.ts";
import { InvalidInputError, LimitExceededError } from "./errors.ts";
import { isConfigMediaType, isIndexMediaType, isManifestMediaType } from "./media_types.ts";
import { platformMatches } from "./platform.ts";
import { detectDocumentKind, parseIndex, parseJson, parseManifest } from "./schema.ts";
import type { Descriptor, ImageIndex, ImageManifest, Platform } from "./types.ts";

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

/** A parsed index or manifest, as the children handler sees it. */
export type Document =
  | { readonly kind: "index"; readonly index: ImageIndex }
  | { readonly kind: "manifest"; readonly manifest: ImageManifest };

/** Reads a document's bytes (from a store, an archive, a registry). */
export type Fetch = (descriptor: Descriptor) => Promise<Uint8Array>;

/** Options for {@link parseDocument}. */
export interface ParseDocumentOptions {
  /** JSON size cap. */
  readonly maxBytes?: number;
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
  const value = parseJson(bytes, { maxBytes: options.maxBytes, what });
  const kind = detectDocumentKind(value);
  if (kind === "index") {
    return { kind, index: parseIndex(bytes, { ...opts, descriptor: undefined }) };
  }
  if (kind === "manifest") {
    return { kind, manifest: parseManifest(bytes, { ...opts, descriptor: undefined }) };
  }
  return undefined;
}

/** The children of a parsed document: index → manifests; manifest → config, layers. */
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
