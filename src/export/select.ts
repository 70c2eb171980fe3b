// This module is browser compatible.
/**
 * Platform selection for export: which entries of an image's index (and nested indexes)
 * belong to the wanted platforms, and — when some are left out — the smallest rewrite of
 * the index that lists only those, marked with {@link SUBSET_OF_ANNOTATION} so that the
 * result says what it was made from. An index whose entries all match is never rewritten.
 *
 * @example
 * ```ts
 * import { selectPlatforms } from "./select.ts";
 * import { MemoryStore } from "@lading/oci";
 * const store = new MemoryStore();
 * const target = {
 *   mediaType: "application/vnd.oci.empty.v1+json",
 *   digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
 *   size: 2,
 * } as const;
 * const selection = await selectPlatforms(store, target, []);
 * console.log(selection.target === target); // true
 * ```
 * @module
 */
import { type Digest, digestBytes } from "../digest.ts";
import { MissingContentError, NotFoundError } from "../errors.ts";
import { isIndexMediaType, isManifestMediaType } from "../media_types.ts";
import { formatPlatform, isAttestation, platformMatches } from "../platform.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { readBlobBytes } from "../store/blob.ts";
import type { ImageSource } from "../store/types.ts";
import type { Descriptor, Platform } from "../types.ts";
import {
  configPlatform,
  type Document,
  mayHaveChildren,
  parseDocument,
  readConfig,
} from "../walk.ts";

/**
 * The annotation a rewritten index carries: the digest of the index it is a subset of.
 * Written into the rewritten index's own `annotations`.
 */
export const SUBSET_OF_ANNOTATION = "dev.lading.export.subset-of";

/** BuildKit's annotation on attestation manifests naming the manifest they describe. */
const ATTESTATION_REFERENCE = "vnd.docker.reference.digest";

/** One index that was rewritten. */
export interface IndexRewrite {
  /** The original index. */
  readonly from: Digest;
  /** The rewritten index. */
  readonly to: Digest;
  /** Entries kept. */
  readonly kept: number;
  /** Entries left out. */
  readonly dropped: number;
}

/** The result of {@link selectPlatforms}. */
export interface Selection {
  /** What to export: the original descriptor, or the rewritten index's. */
  readonly target: Descriptor;
  /** For each index (by digest) whose entries were filtered: the entries to follow. */
  readonly children: ReadonlyMap<Digest, readonly Descriptor[]>;
  /** Rewritten index documents, by their digest. */
  readonly documents: ReadonlyMap<Digest, Uint8Array>;
  /** Every rewrite, innermost first. */
  readonly rewrites: readonly IndexRewrite[];
  /** Index entries left out. */
  readonly dropped: readonly Descriptor[];
  /** Platforms of the kept entries (formatted, sorted). */
  readonly platforms: readonly string[];
}

/** Options of {@link selectPlatforms}. */
export interface SelectOptions {
  /**
   * Rewrite indexes that lose entries (default true). With false the original index is
   * kept and only {@link Selection.children} says what to follow (a partial archive).
   */
  readonly rewrite?: boolean;
  /** Name used in messages. */
  readonly name?: string;
  /** JSON size cap. */
  readonly maxJsonBytes?: number;
  /** Hashing runtime (default: detected). */
  readonly runtime?: Runtime;
  /** Same-kind media type differences. */
  readonly onWarning?: (message: string) => void;
}

/**
 * Chooses the content of `platforms` below `target`. With no platforms everything is kept
 * and nothing is read.
 *
 * @throws {NotFoundError} when nothing below `target` is for one of `platforms` (the
 *   message lists the platforms there are); {@link MissingContentError} when an index or
 *   the top-level manifest's config needed to decide is absent.
 */
export async function selectPlatforms(
  store: ImageSource,
  target: Descriptor,
  platforms: readonly Platform[],
  options: SelectOptions = {},
): Promise<Selection> {
  const children = new Map<Digest, readonly Descriptor[]>();
  const documents = new Map<Digest, Uint8Array>();
  const rewrites: IndexRewrite[] = [];
  const dropped: Descriptor[] = [];
  const kept = new Set<string>();
  const available = new Set<string>();
  if (platforms.length === 0) {
    return { target, children, documents, rewrites, dropped, platforms: [] };
  }
  const rewrite = options.rewrite ?? true;
  const name = options.name ?? target.digest;
  const wanted = (p: Platform) => platforms.some((w) => platformMatches(w, p));

  // Each document is read once and each index decided once, however many entries reach
  // it (a hostile index of N entries pointing at one index of N manifests stays linear).
  const reads = new Map<Digest, Promise<{ bytes: Uint8Array; doc: Document | undefined }>>();
  const decided = new Map<Digest, Descriptor | undefined>();
  const read = (d: Descriptor) => {
    let r = reads.get(d.digest);
    if (!r) {
      r = readOnce(d);
      reads.set(d.digest, r);
    }
    return r;
  };
  const readOnce = async (d: Descriptor) => {
    if (!(await store.has(d.digest))) {
      throw new MissingContentError(
        `Cannot export ${name}: ${d.mediaType} ${d.digest} is not in the store`,
        [{ digest: d.digest, mediaType: d.mediaType, image: name }],
      );
    }
    const bytes = await readBlobBytes(store, d.digest, options);
    return {
      bytes,
      doc: parseDocument(d, bytes, {
        maxJsonBytes: options.maxJsonBytes,
        onWarning: options.onWarning,
        what: `${d.mediaType} ${d.digest} of ${name}`,
      }),
    };
  };

  /** The descriptor to keep for `d` (maybe rewritten), or undefined when nothing matched. */
  const select = async (d: Descriptor, depth: number): Promise<Descriptor | undefined> => {
    if (decided.has(d.digest)) return decided.get(d.digest);
    const chosen = await decide(d, depth);
    decided.set(d.digest, chosen);
    return chosen;
  };

  const decide = async (d: Descriptor, depth: number): Promise<Descriptor | undefined> => {
    if (depth > 16) throw new NotFoundError(`Cannot export ${name}: indexes nested too deep`);
    const { bytes, doc } = await read(d);
    if (!doc) return d;
    if (doc.kind === "manifest") {
      // Only a top-level manifest is decided here; index entries are decided by platform.
      if (!(await store.has(doc.manifest.config.digest))) {
        throw new MissingContentError(
          `Cannot export ${name}: config ${doc.manifest.config.digest} is not in the store`,
          [{ digest: doc.manifest.config.digest, mediaType: doc.manifest.config.mediaType }],
        );
      }
      const c = await readConfig(store, doc.manifest.config, options);
      const p = configPlatform(c);
      available.add(formatPlatform(p));
      if (!wanted(p)) return undefined;
      kept.add(formatPlatform(p));
      return d;
    }
    const entries = doc.index.manifests;
    const decision: (Descriptor | undefined)[] = new Array(entries.length).fill(undefined);
    let matched = false;
    for (const [i, e] of entries.entries()) {
      if (isAttestation(e)) continue;
      const nested = isIndexMediaType(e.mediaType) ||
        (!e.platform && !isManifestMediaType(e.mediaType) && mayHaveChildren(e));
      if (nested && (isIndexMediaType(e.mediaType) || await isIndexBlob(e))) {
        const sub = await select(e, depth + 1);
        if (sub) matched = true;
        decision[i] = sub;
      } else if (!e.platform) {
        decision[i] = e; // nothing to decide by: kept, but not a match
      } else {
        available.add(formatPlatform(e.platform));
        if (wanted(e.platform)) {
          decision[i] = e;
          kept.add(formatPlatform(e.platform));
          matched = true;
        }
      }
    }
    if (!matched) return undefined;
    const keptDigests = new Set(decision.filter((x) => x).map((x) => x!.digest as string));
    for (const [i, e] of entries.entries()) {
      if (!isAttestation(e)) continue;
      const ref = e.annotations?.[ATTESTATION_REFERENCE];
      if (ref && keptDigests.has(ref)) decision[i] = e;
    }
    const keptEntries: Descriptor[] = [];
    let changed = false;
    for (const [i, e] of entries.entries()) {
      const x = decision[i];
      if (!x) {
        dropped.push(e);
        changed = true;
      } else {
        if (x.digest !== e.digest) changed = true;
        keptEntries.push(x);
      }
    }
    if (!changed) return d;
    if (!rewrite) {
      children.set(d.digest, keptEntries);
      return d;
    }
    // The smallest rewrite: the original JSON with only the kept entries (nested rewrites
    // swapped in) and one annotation that names the original.
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const rawEntries = raw.manifests as Record<string, unknown>[];
    const out: Record<string, unknown>[] = [];
    for (const [i, x] of decision.entries()) {
      if (!x) continue;
      const e = rawEntries[i];
      if (x.digest === entries[i].digest) out.push(e);
      else {
        const { data: _data, ...rest } = e;
        out.push({ ...rest, digest: x.digest, size: x.size });
      }
    }
    raw.manifests = out;
    raw.annotations = {
      ...(raw.annotations as Record<string, string> | undefined),
      [SUBSET_OF_ANNOTATION]: d.digest,
    };
    const newBytes = new TextEncoder().encode(JSON.stringify(raw));
    const digest = await digestBytes(options.runtime ?? await getRuntime(), newBytes);
    documents.set(digest, newBytes);
    children.set(digest, keptEntries);
    rewrites.push({
      from: d.digest,
      to: digest,
      kept: keptEntries.length,
      dropped: entries.length - keptEntries.length,
    });
    const { data: _data, ...rest } = d;
    return { ...rest, digest, size: newBytes.byteLength };
  };

  const isIndexBlob = async (e: Descriptor): Promise<boolean> => {
    if (!(await store.has(e.digest))) return false;
    return (await read(e)).doc?.kind === "index";
  };

  const selected = await select(target, 0);
  if (!selected) {
    throw new NotFoundError(
      `Cannot export ${name}: no content for platform ${
        platforms.map(formatPlatform).join(", ")
      }; it has ${[...available].sort().join(", ") || "no platforms"}`,
    );
  }
  return {
    target: selected,
    children,
    documents,
    rewrites,
    dropped,
    platforms: [...kept].sort(),
  };
}
