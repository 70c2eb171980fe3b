// This module is browser compatible.
/**
 * The import's plan: one walk over every top-level entry of the input that checks sizes,
 * presence, documents and `data`, applies the platform filter and lists what is missing,
 * before anything is committed.
 * @module
 */
import { type Digest, digestBytes, shortDigest } from "../digest.ts";
import { InvalidInputError, LimitExceededError, SizeMismatchError } from "../errors.ts";
import { isConfigMediaType, isNonDistributable } from "../media_types.ts";
import { formatPlatform, platformMatches } from "../platform.ts";
import type { Runtime } from "../runtime/types.ts";
import { checkDescriptorData, parseConfig } from "../schema.ts";
import { readBlobBytes } from "../store/blob.ts";
import type { BlobProvider, Lease } from "../store/types.ts";
import type { Descriptor, ImageConfig, Platform } from "../types.ts";
import {
  blobPresence,
  childrenOf,
  configPlatform,
  filterPlatforms,
  mayHaveChildren,
  parseDocument,
  walk,
} from "../walk.ts";
import { withoutNameAnnotations } from "./names.ts";
import type { MissingBlob } from "./types.ts";

/** What {@link makePlan} decided. */
export interface Plan {
  readonly reachable: Map<Digest, Descriptor>;
  readonly missing: MissingBlob[];
  readonly skipped: Set<Digest>;
}

/** What the plan reads of the input, whatever its shape. */
export interface PlanInput {
  /** The size of the input's blob (or synthesized document), or undefined when it has none. */
  size(digest: Digest): Promise<number | undefined>;
  /** The bytes of a document the input has, verified, at most `maxBytes`. */
  bytes(descriptor: Descriptor, maxBytes: number): Promise<Uint8Array>;
}

/** What {@link makePlan} reads besides the store. */
export interface PlanContext {
  input: PlanInput;
  platforms: readonly Platform[];
  maxJsonBytes: number;
  what: string;
  warn(m: string): void;
  nameOf(entry: Descriptor): string;
  runtime: Runtime;
  /** Protects every visited digest from gc before its presence is checked. */
  lease?: Lease;
}

/**
 * Walks every top-level entry: checks that each reachable blob is in the input (right
 * size) or already in the store, parses every document (kind confusion, `data`,
 * configs), applies the platform filter, and lists what is missing.
 */
export async function makePlan(
  store: BlobProvider,
  entries: readonly Descriptor[],
  ctx: PlanContext,
): Promise<Plan> {
  const reachable = new Map<Digest, Descriptor>();
  const missing: MissingBlob[] = [];
  const skipped = new Set<Digest>();
  /** A document's bytes, from the input when it has them, else from the store. */
  const bytesOf = (d: Descriptor, inInput: boolean): Promise<Uint8Array> =>
    inInput ? ctx.input.bytes(d, ctx.maxJsonBytes) : readBlobBytes(store, d.digest, ctx);
  const readEntryConfig = async (config: Descriptor): Promise<ImageConfig | undefined> => {
    const inInput = (await ctx.input.size(config.digest)) !== undefined;
    if (!inInput && !(await store.has(config.digest))) return undefined;
    return parseConfig(await bytesOf(config, inInput), {
      what: `${ctx.what}: config ${config.digest}`,
    });
  };
  const roots = entries.map((e) => withoutNameAnnotations(e));
  // What an earlier entry's walk checked is not checked again: N entries pointing at one
  // index of N manifests cost N, not N². A root is decided apart (the platform filter).
  const checked = new Set<string>();
  for (const [i, root] of roots.entries()) {
    const image = ctx.nameOf(entries[i]);
    await walk([root], async (d, wctx) => {
      const key = wctx.parents.length === 0 ? `root ${d.digest}` : d.digest;
      if (checked.has(key)) return [];
      checked.add(key);
      const where = `${d.mediaType} ${d.digest} of ${image}`;
      const size = await ctx.input.size(d.digest);
      const inInput = size !== undefined;
      if (!inInput) await ctx.lease?.add([d.digest]);
      const stored = inInput ? undefined : await blobPresence(store, d);
      if (stored === "missing") {
        if (isNonDistributable(d.mediaType) || (d.urls && d.urls.length)) {
          ctx.warn(`${ctx.what}: non-distributable blob ${shortDigest(d.digest)} is not included`);
          return [];
        }
        missing.push({ digest: d.digest, mediaType: d.mediaType, image });
        return [];
      }
      if (inInput && size !== d.size) {
        throw new SizeMismatchError(
          `Cannot import ${ctx.what}: blob ${d.digest} (${where}) has ${size} bytes, descriptor says ${d.size}`,
          d.size,
          size,
        );
      }
      if (typeof stored === "object") {
        throw new SizeMismatchError(
          `Cannot import ${ctx.what}: blob ${d.digest} (${where}) has ${stored.size} bytes in the store, descriptor says ${d.size}`,
          d.size,
          stored.size,
        );
      }
      reachable.set(d.digest, d);
      const isConfig = isConfigMediaType(d.mediaType);
      let bytes: Uint8Array | undefined;
      if (d.data !== undefined) {
        bytes = await bytesOf(d, inInput);
        try {
          checkDescriptorData(d, bytes);
        } catch (e) {
          // Say which input and image, and what the data hashes to.
          let actual = "";
          try {
            const decoded = Uint8Array.from(atob(d.data), (c) => c.charCodeAt(0));
            actual = `; the data hashes to ${await digestBytes(ctx.runtime, decoded)}`;
          } catch {
            // not base64: the message says so
          }
          throw new InvalidInputError(
            `Cannot import ${ctx.what}: ${where}: ${(e as Error).message}${actual}`,
            { cause: e },
          );
        }
      }
      if (isConfig) {
        parseConfig(bytes ?? await bytesOf(d, inInput), {
          what: `${ctx.what}: config ${d.digest} of ${image}`,
        });
        return [];
      }
      if (!mayHaveChildren(d)) return [];
      bytes ??= await bytesOf(d, inInput);
      const doc = parseDocument(d, bytes, {
        maxJsonBytes: ctx.maxJsonBytes,
        onWarning: ctx.warn,
        what: `${ctx.what}: ${where}`,
      });
      if (!doc) return [];
      if (doc.kind === "index") return filterPlatforms(childrenOf(doc), ctx.platforms);
      if (wctx.parents.length === 0 && ctx.platforms.length) {
        const config = await readEntryConfig(doc.manifest.config);
        if (config) {
          const p = configPlatform(config);
          if (!ctx.platforms.some((w) => platformMatches(w, p))) {
            ctx.warn(`${image} is ${formatPlatform(p)}, not a requested platform: skipped`);
            skipped.add(d.digest);
            reachable.delete(d.digest);
            return [];
          }
        }
      }
      return childrenOf(doc);
    }).catch((e) => {
      throw walkErrorInContext(e, ctx.what, image);
    });
  }
  return { reachable, missing, skipped };
}

/**
 * The walk's own errors (index cycle, nesting too deep) do not know the input or the
 * image; name both. Errors from the handler already do and pass unchanged.
 */
export function walkErrorInContext(e: unknown, what: string, image: string): unknown {
  if (!(e instanceof LimitExceededError || e instanceof InvalidInputError)) return e;
  if (e.message.includes(what)) return e;
  const Class = e instanceof LimitExceededError ? LimitExceededError : InvalidInputError;
  return new Class(`Cannot import ${what}: image ${image}: ${e.message}`, { cause: e });
}
