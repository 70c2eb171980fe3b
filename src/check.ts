// This module is browser compatible.
/**
 * Store health: for each image, is all its content present (per platform) and does every
 * blob still hash to its name; for the whole store, does every blob hash to its name.
 *
 * @example
 * ```ts
 * import { verifyContent } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * import { writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * const report = await verifyContent(store);
 * console.log(report.blobs, report.problems.length); // 1 0
 * ```
 * @module
 */
import { type Digest, parseDigest } from "./digest.ts";
import { NotFoundError } from "./errors.ts";
import { isConfigMediaType, isManifestMediaType, isNonDistributable } from "./media_types.ts";
import { formatPlatform, platformLabel } from "./platform.ts";
import { largeChunks } from "./streams.ts";
import { getRuntime } from "./runtime/mod.ts";
import type { Runtime } from "./runtime/types.ts";
import { parseConfig } from "./schema.ts";
import { DEFAULT_DOCUMENT_LIMIT, readAllBytes } from "./store/blob.ts";
import type {
  BlobHashing,
  BlobInfo,
  BlobManager,
  BlobProvider,
  ImageRecord,
  ImageSource,
} from "./store/types.ts";
import type { Descriptor, Platform } from "./types.ts";
import {
  blobPresence,
  configPlatform,
  type Document,
  filterPlatforms,
  mayHaveChildren,
  parseDocument,
  walk,
} from "./walk.ts";

/** What is wrong with a blob. */
export type ProblemKind = "missing" | "size" | "digest" | "unreadable";

/** One thing wrong with one blob. */
export interface BlobProblem {
  /** The blob. */
  readonly digest: Digest;
  /** From the descriptor that reached it (absent for `content verify`). */
  readonly mediaType?: string;
  /** What is wrong: absent, wrong size, wrong digest, or unreadable. */
  readonly kind: ProblemKind;
  /** One line saying exactly what is wrong. */
  readonly message: string;
}

/** The state of one manifest (one platform) of an image. */
export interface PlatformStatus {
  /** `linux/amd64`; `unknown` when nothing says; attestations: `attestation`. */
  readonly platform: string;
  /** The manifest. */
  readonly manifest: Digest;
  /** Manifest, config and every layer present. */
  readonly complete: boolean;
  /** Problems of the manifest, its config and its layers. */
  readonly problems: readonly BlobProblem[];
}

/** The result of {@link checkImage}. */
export interface ImageCheck {
  /** The image name. */
  readonly name: string;
  /** The digest the name points at. */
  readonly digest: Digest;
  /** No problem at all. */
  readonly ok: boolean;
  /** Every reachable blob present (foreign layers excepted). */
  readonly complete: boolean;
  /** One entry per manifest, in walk order. */
  readonly platforms: readonly PlatformStatus[];
  /** Every problem (index-level ones included), one per blob. */
  readonly problems: readonly BlobProblem[];
  /** Blobs reached and present. */
  readonly blobs: number;
  /** Their bytes. */
  readonly bytes: number;
  /** True when blobs were re-hashed. */
  readonly verified: boolean;
  /** Non-distributable layers that are absent (allowed by the spec). */
  readonly foreign: readonly Digest[];
  /**
   * Index entries not checked because their platform is not one of
   * {@link CheckOptions.platforms} (`linux/arm64`, `attestation`, ...).
   */
  readonly skippedPlatforms: readonly string[];
}

/** Options of {@link checkImage} and {@link checkImages}. */
export interface CheckOptions {
  /** Re-hash every blob (default true); false only checks presence and sizes. */
  readonly verify?: boolean;
  /** JSON size cap (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** Hashing runtime (default: detected). */
  readonly runtime?: Runtime;
  /** Bytes hashed so far (across calls sharing `cache`). */
  readonly onProgress?: (bytes: number) => void;
  /**
   * Results of blobs already checked, shared between images so that shared layers are
   * hashed once. {@link checkImages} makes one.
   */
  readonly cache?: Map<string, BlobProblem | null>;
  /**
   * Check only these platforms of an index (like containerd's check with a platform
   * matcher): the other entries were deliberately not imported, so their absence is not
   * a problem; they are listed in {@link ImageCheck.skippedPlatforms}. Empty: all.
   */
  readonly platforms?: readonly Platform[];
}

function algorithmOf(digest: Digest): "sha256" | "sha512" {
  return parseDigest(digest).algorithm;
}

/** Hashes a stream; returns the digest and byte count. */
async function hashStream(
  runtime: Runtime,
  algorithm: "sha256" | "sha512",
  stream: ReadableStream<Uint8Array>,
  onBytes?: (n: number) => void,
): Promise<{ digest: string; size: number }> {
  const hasher = await runtime.createHasher(algorithm);
  let size = 0;
  // Two buffers, one read ahead: the next read runs while this chunk is hashed.
  for await (const chunk of largeChunks(stream, { buffers: 2, readAhead: 1 })) {
    hasher.update(chunk);
    size += chunk.byteLength;
    onBytes?.(chunk.byteLength);
  }
  return { digest: `${algorithm}:${hasher.digest()}`, size };
}

/**
 * The default {@link BlobHashing}: the store's reader, hashed in this thread, one at a time.
 *
 * @example
 * ```ts
 * import { MemoryStore, streamHashing, verifyContent } from "@lading/oci";
 * const store = new MemoryStore();
 * console.log((await verifyContent(store, { hashing: streamHashing(store) })).blobs); // 0
 * ```
 */
export function streamHashing(store: BlobProvider, runtime?: Runtime): BlobHashing {
  return {
    concurrency: 1,
    async hash(digest, onBytes) {
      const hashing = runtime ?? await getRuntime();
      let stream: ReadableStream<Uint8Array>;
      try {
        stream = await store.reader(digest);
      } catch (e) {
        if (!(e instanceof NotFoundError)) throw e;
        return undefined;
      }
      return await hashStream(hashing, algorithmOf(digest), stream, onBytes);
    },
  };
}

/**
 * Re-hashes one committed blob. Returns the problem, or undefined when it hashes to its
 * name (and, given `size`, has that many bytes).
 */
export async function verifyBlob(
  store: BlobProvider,
  digest: Digest,
  options: {
    size?: number;
    mediaType?: string;
    runtime?: Runtime;
    hashing?: BlobHashing;
    onBytes?: (n: number) => void;
  } = {},
): Promise<BlobProblem | undefined> {
  const base = { digest, ...(options.mediaType ? { mediaType: options.mediaType } : {}) };
  const hashing = options.hashing ?? streamHashing(store, options.runtime);
  const actual = await hashing.hash(digest, options.onBytes);
  if (!actual) return { ...base, kind: "missing", message: `${label(base)} is not in the store` };
  if (options.size !== undefined && actual.size !== options.size) {
    return {
      ...base,
      kind: "size",
      message: `${label(base)} has ${actual.size} bytes, its descriptor says ${options.size}`,
    };
  }
  if (actual.digest !== digest) {
    return { ...base, kind: "digest", message: `${label(base)} hashes to ${actual.digest}` };
  }
  return undefined;
}

function label(b: { digest: string; mediaType?: string }): string {
  return b.mediaType ? `${b.mediaType} ${b.digest}` : `blob ${b.digest}`;
}

/**
 * Checks one image: every blob its name reaches is present with the size its descriptor
 * says, hashes to its digest (unless `verify` is false), and every document parses.
 * Problems are attributed to the platform (manifest) they belong to.
 *
 * @example
 * ```ts
 * import { appendLayer, checkImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * console.log((await checkImage(store, await store.getImage("example.com/a:1"))).ok); // true
 * ```
 */
export async function checkImage(
  store: BlobProvider,
  record: ImageRecord,
  options: CheckOptions = {},
): Promise<ImageCheck> {
  const runtime = options.runtime ?? await getRuntime();
  const verify = options.verify ?? true;
  const maxBytes = options.maxJsonBytes ?? DEFAULT_DOCUMENT_LIMIT;
  const cache = options.cache ?? new Map<string, BlobProblem | null>();
  let hashed = 0;
  const onBytes = (n: number) => {
    hashed += n;
    options.onProgress?.(hashed);
  };
  const problems = new Map<Digest, BlobProblem>();
  const foreign: Digest[] = [];
  const present = new Map<Digest, number>();

  /** A missing blob or one of the wrong size; records the size of a present one. */
  const presenceProblem = async (d: Descriptor): Promise<BlobProblem | undefined> => {
    const base = { digest: d.digest, mediaType: d.mediaType };
    const found = await blobPresence(store, d);
    if (found === "missing") {
      return { ...base, kind: "missing", message: `${label(base)} is not in the store` };
    }
    present.set(d.digest, found === "present" ? d.size : found.size);
    if (found === "present") return undefined;
    return {
      ...base,
      kind: "size",
      message: `${label(base)} has ${found.size} bytes, its descriptor says ${d.size}`,
    };
  };

  /** Checks presence, size and (maybe) hash of a leaf blob. */
  const checkLeaf = async (d: Descriptor): Promise<BlobProblem | undefined> => {
    const key = `${d.digest}:${d.size}:${verify}`;
    if (cache.has(key)) {
      const p = cache.get(key) ?? undefined;
      if (!p || p.kind !== "missing") present.set(d.digest, d.size);
      return p ? { ...p, mediaType: d.mediaType, message: p.message } : undefined;
    }
    let problem = await presenceProblem(d);
    if (!problem && verify) {
      problem = await verifyBlob(store, d.digest, {
        size: d.size,
        mediaType: d.mediaType,
        runtime,
        onBytes,
      });
    }
    cache.set(key, problem ?? null);
    return problem;
  };

  /** Checks a document blob and parses it. */
  const checkDocument = async (
    d: Descriptor,
  ): Promise<{ problem?: BlobProblem; doc?: Document; bytes?: Uint8Array }> => {
    const base = { digest: d.digest, mediaType: d.mediaType };
    const problem = await presenceProblem(d);
    if (problem) return { problem };
    if (d.size > maxBytes) {
      return {
        problem: {
          ...base,
          kind: "unreadable",
          message: `${label(base)} has ${d.size} bytes, more than the ${maxBytes}-byte JSON limit`,
        },
      };
    }
    const bytes = await readAllBytes(await store.reader(d.digest), maxBytes, label(base));
    if (verify) {
      const algorithm = algorithmOf(d.digest);
      const hasher = await runtime.createHasher(algorithm);
      hasher.update(bytes);
      const actual = `${algorithm}:${hasher.digest()}`;
      if (actual !== d.digest) {
        return {
          problem: {
            ...base,
            kind: "digest",
            message: `${label(base)} hashes to ${actual}`,
          },
        };
      }
    }
    try {
      return { doc: parseDocument(d, bytes, { maxJsonBytes: maxBytes }), bytes };
    } catch (e) {
      return {
        problem: {
          ...base,
          kind: "unreadable",
          message: `${label(base)} cannot be read: ${(e as Error).message}`,
        },
      };
    }
  };

  const add = (list: BlobProblem[], p: BlobProblem | undefined) => {
    if (!p) return;
    list.push(p);
    if (!problems.has(p.digest)) problems.set(p.digest, p);
  };

  const platforms: PlatformStatus[] = [];
  const skippedPlatforms: string[] = [];
  const imageLevel: BlobProblem[] = [];
  await walk([record.target], async (d, ctx) => {
    const nested = ctx.parents.length > 0;
    if (!mayHaveChildren(d)) {
      // A top-level blob that is not a document (an artifact): just check it.
      add(imageLevel, await checkLeaf(d));
      return [];
    }
    const { problem, doc } = await checkDocument(d);
    if (problem || !doc) {
      const isManifestEntry = nested &&
        (d.platform !== undefined || isManifestMediaType(d.mediaType));
      if (problem && isManifestEntry) {
        const list: BlobProblem[] = [];
        add(list, problem);
        platforms.push({
          platform: platformLabel(d),
          manifest: d.digest,
          complete: false,
          problems: list,
        });
      } else add(imageLevel, problem);
      return [];
    }
    if (doc.kind === "index") {
      const kept = filterPlatforms(doc.index.manifests, options.platforms ?? []);
      for (const m of doc.index.manifests) {
        if (!kept.includes(m)) skippedPlatforms.push(platformLabel(m));
      }
      return kept;
    }
    // A manifest: check config and layers, attributed to this platform.
    const list: BlobProblem[] = [];
    const m = doc.manifest;
    let platform = platformLabel(d);
    const configProblem = await checkLeaf(m.config);
    add(list, configProblem);
    if (!configProblem && isConfigMediaType(m.config.mediaType) && platform === "unknown") {
      try {
        const bytes = await readAllBytes(await store.reader(m.config.digest), maxBytes, "config");
        const c = parseConfig(bytes, { what: `config ${m.config.digest}` });
        platform = formatPlatform(configPlatform(c));
      } catch (e) {
        add(list, {
          digest: m.config.digest,
          mediaType: m.config.mediaType,
          kind: "unreadable",
          message: `config ${m.config.digest} cannot be read: ${(e as Error).message}`,
        });
      }
    }
    for (const layer of m.layers) {
      const p = await checkLeaf(layer);
      if (p?.kind === "missing" && (isNonDistributable(layer.mediaType) || layer.urls?.length)) {
        foreign.push(layer.digest);
        continue;
      }
      add(list, p);
    }
    platforms.push({
      platform,
      manifest: d.digest,
      complete: !list.some((p) => p.kind === "missing" || p.kind === "unreadable"),
      problems: list,
    });
    return []; // config and layers are checked above
  });
  const all = [...problems.values()];
  return {
    name: record.name,
    digest: record.target.digest,
    ok: all.length === 0,
    complete: !all.some((p) => p.kind === "missing" || p.kind === "unreadable"),
    platforms,
    problems: all,
    blobs: present.size,
    bytes: [...present.values()].reduce((a, b) => a + b, 0),
    verified: verify,
    foreign,
    skippedPlatforms,
  };
}

/**
 * Checks the given images (all names when `records` is omitted), sharing blob results so
 * that layers common to several images are hashed once. An image found incomplete is
 * judged again against a fresh snapshot of the names: one removed or re-pointed while the
 * check ran (`images rm` and gc at the same time) is left out of the result, never
 * reported as incomplete.
 *
 * @example
 * ```ts
 * import { appendLayer, checkImages, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const [check] = await checkImages(store);
 * console.log(check.name, check.ok, check.blobs); // example.com/a:1 true 3
 * ```
 */
export async function checkImages(
  store: ImageSource,
  records?: readonly ImageRecord[],
  options: CheckOptions = {},
): Promise<ImageCheck[]> {
  const list = records ?? await store.listImages();
  const shared = { ...options, cache: options.cache ?? new Map<string, BlobProblem | null>() };
  // checkImage counts from 0 for each image: the caller sees one running total.
  let done = 0;
  const counted = <T extends CheckOptions>(o: T): T => {
    const report = options.onProgress;
    if (!report) return o;
    let last = 0;
    return {
      ...o,
      onProgress: (n: number) => {
        done += n - last;
        last = n;
        report(done);
      },
    };
  };
  // Names with the same target share one check (a hostile index.json of N entries
  // pointing at one index of N manifests costs N, not N²).
  const byTarget = new Map<string, ImageCheck>();
  const out: ImageCheck[] = [];
  for (const r of list) {
    const key = `${r.target.digest} ${r.target.size} ${r.target.mediaType}`;
    let check = byTarget.get(key);
    if (!check) {
      check = await checkImage(store, r, counted(shared));
      byTarget.set(key, check);
    }
    out.push({ ...check, name: r.name });
  }
  if (out.every((c) => c.complete)) return out;
  // A name removed (and its blobs collected) while the check ran is not an incomplete
  // image: the incomplete ones are judged again against a fresh snapshot of the names —
  // gone or moved names are left out, the others are checked again (blobs found missing
  // before may have been re-imported meanwhile).
  const now = new Map((await store.listImages()).map((r) => [r.name, r.target]));
  const again = new Map<string, ImageCheck>();
  const fresh = { ...options, cache: new Map<string, BlobProblem | null>() };
  const kept: ImageCheck[] = [];
  for (const c of out) {
    if (c.complete) {
      kept.push(c);
      continue;
    }
    const target = now.get(c.name);
    if (!target || target.digest !== c.digest) continue; // removed or re-pointed meanwhile
    const key = `${target.digest} ${target.size} ${target.mediaType}`;
    let check = again.get(key);
    if (!check) {
      check = await checkImage(store, { name: c.name, target }, counted(fresh));
      again.set(key, check);
    }
    kept.push({ ...check, name: c.name });
  }
  return kept;
}

/** The result of {@link verifyContent}. */
export interface ContentReport {
  /** Blobs hashed. */
  readonly blobs: number;
  /** Bytes hashed. */
  readonly bytes: number;
  /** Blobs that do not hash to their name, sorted by digest. */
  readonly problems: readonly BlobProblem[];
}

/**
 * Re-hashes every blob in the store.
 *
 * @example
 * ```ts
 * import { verifyContent } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * console.log((await verifyContent(new MemoryStore())).blobs); // 0
 * ```
 */
export async function verifyContent(
  store: BlobProvider & BlobManager,
  options: {
    runtime?: Runtime;
    /** Default: {@link streamHashing} (one blob at a time, in this thread). */
    hashing?: BlobHashing;
    onProgress?: (bytes: number, total: number) => void;
    /** Called as each blob is done (in completion order when several run at once). */
    onBlob?: (blob: BlobInfo, problem: BlobProblem | undefined) => void;
  } = {},
): Promise<ContentReport> {
  // Loading the hashing runtime (Deno: node:crypto, ~18 ms) overlaps listing the store.
  if (!options.hashing && !options.runtime) getRuntime().catch(() => {}); // awaited when hashing
  const hashing = options.hashing ?? streamHashing(store, options.runtime);
  const all: BlobInfo[] = [];
  for await (const b of store.list()) all.push(b);
  const total = all.reduce((n, b) => n + b.size, 0);
  // Largest first: with several at once, the longest hashes start early.
  const queue = all.sort((a, b) => b.size - a.size || (a.digest < b.digest ? -1 : 1));
  const problems: BlobProblem[] = [];
  let bytes = 0;
  let blobs = 0;
  let failed = false;
  const lane = async () => {
    for (let b = queue.shift(); b && !failed; b = queue.shift()) {
      const problem = await verifyBlob(store, b.digest, {
        hashing,
        onBytes: (n) => {
          bytes += n;
          options.onProgress?.(bytes, total);
        },
      }).catch((e) => {
        failed = true;
        throw e;
      });
      if (problem?.kind === "missing") continue; // removed meanwhile (gc)
      blobs++;
      if (problem) problems.push(problem);
      options.onBlob?.(b, problem);
    }
  };
  const lanes = Math.max(1, Math.min(hashing.concurrency, queue.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  problems.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { blobs, bytes, problems };
}
