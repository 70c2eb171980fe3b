// This module is browser compatible.
/**
 * One importer for every input shape: an OCI layout directory, an oci-archive, a
 * `docker save` archive, each tar plain, gzip or zstd, with or without a wrapper folder.
 * Every blob is verified while it streams into uncommitted writes; nothing becomes
 * visible until the whole input checked out, and names are recorded last.
 *
 * @example
 * ```ts
 * import { importImages } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * import { packTar } from "modern-tar";
 * const layout = '{"imageLayoutVersion":"1.0.0"}';
 * const index = '{"schemaVersion":2,"manifests":[]}';
 * const tar = await packTar([
 *   { header: { name: "oci-layout", size: layout.length }, body: layout },
 *   { header: { name: "index.json", size: index.length }, body: index },
 * ]);
 * const result = await importImages(new MemoryStore(), {
 *   kind: "stream",
 *   label: "empty.tar",
 *   stream: new Blob([tar]).stream(),
 * });
 * console.log(result.format, result.images.length); // oci-archive 0
 * ```
 * @module
 */
import type { Digest } from "../digest.ts";
import {
  CancelledError,
  DigestMismatchError,
  MissingContentError,
  NotFoundError,
} from "../errors.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { DEFAULT_JSON_LIMIT } from "../schema.ts";
import type { ImageRecord, Lease } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { blobPresence } from "../walk.ts";
import { reachableDigests } from "../gc.ts";
import { verifyBlob } from "../check.ts";
import { type OpenedInput, openInput } from "./input.ts";
import { entryName, importNames } from "./names.ts";
import { makePlan, type Plan } from "./plan.ts";
import type { ImportSource } from "./source.ts";
import type { ImportOptions, ImportResult, ImportTarget } from "./types.ts";

export type {
  ImportedEntry,
  ImportedImage,
  ImportOptions,
  ImportResult,
  ImportTarget,
  MissingBlob,
} from "./types.ts";

/** Missing blobs a {@link MissingContentError} message names (its `missing` has all). */
const MISSING_SHOWN = 3;

/** What {@link importImages} reads: an {@link ImportSource}, a `Blob`/`File`, a `Response` or a byte stream. */
export type ImportInput = ImportSource | Blob | Response | ReadableStream<Uint8Array>;

/** The {@link ImportSource} for an input: a `Blob`, `Response` or stream becomes a stream source. */
function importSource(input: ImportInput): ImportSource {
  if (input instanceof ReadableStream) return { kind: "stream", label: "stream", stream: input };
  if (typeof Blob !== "undefined" && input instanceof Blob) {
    const name = (input as { name?: unknown }).name;
    return {
      kind: "stream",
      label: typeof name === "string" && name ? name : "blob",
      stream: input.stream() as ReadableStream<Uint8Array>,
      size: input.size,
    };
  }
  if (typeof Response !== "undefined" && input instanceof Response) {
    if (!input.body) throw new TypeError("cannot import a Response without a body");
    const length = Number(input.headers.get("content-length") ?? NaN);
    return {
      kind: "stream",
      label: input.url || "response",
      stream: input.body,
      ...(Number.isSafeInteger(length) ? { size: length } : {}),
    };
  }
  return input as ImportSource;
}

/**
 * Imports every image of `input` into `store`, all or nothing. Every top-level entry is
 * reported in {@link ImportResult.entries} with its digest, also those that got no name
 * (no `io.containerd.image.name` or `org.opencontainers.image.ref.name`, no `digests`):
 * their content is stored, but no name protects it from gc.
 *
 * @throws {InvalidInputError} for malformed input; {@link MissingContentError} listing
 *   every absent blob; {@link DigestMismatchError} / {@link SizeMismatchError} naming the
 *   blob. On any error the store is as it was.
 *
 * @example
 * ```ts
 * import { emptyImage, exportArchive, importImages, MemoryStore, writeImage } from "@lading/oci";
 * const built = new MemoryStore();
 * await writeImage(built, emptyImage(), { name: "example.com/empty:1" });
 * // Any archive: a File from an <input>, a fetch() Response, a ReadableStream.
 * const file = new Blob([await new Response(await exportArchive(built, ["example.com/empty:1"])).arrayBuffer()]);
 * const result = await importImages(new MemoryStore(), file);
 * console.log(result.format, result.images.map((i) => i.name)); // oci-archive [ "example.com/empty:1" ]
 * ```
 */
export async function importImages(
  store: ImportTarget,
  input: ImportInput,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const source = importSource(input);
  // The store's own documents first: a store whose index.json cannot be read refuses the
  // import before anything is written (it could not record the names anyway).
  await store.listImages();
  const warnings: string[] = [];
  const run: ImportRun = {
    store,
    options,
    runtime: options.runtime ?? await getRuntime(),
    maxJsonBytes: options.maxJsonBytes ?? DEFAULT_JSON_LIMIT,
    what: source.label,
    warnings,
    warn: (m) => {
      warnings.push(m);
      options.onWarning?.(m);
    },
    cancelled: cancellation(options.signal, source.label),
    lease: options.dryRun ? undefined : await store.lease(),
    added: [],
  };
  try {
    const input = await openInput(store, source, {
      runtime: run.runtime,
      maxJsonBytes: run.maxJsonBytes,
      dryRun: options.dryRun,
      onProgress: options.onProgress,
      onWarning: run.warn,
      lease: run.lease,
      cancelled: run.cancelled,
      onStaged: (abortAll) => run.abortWrites = abortAll,
      verifyExisting: options.verifyExisting,
      dockerMediaTypes: options.dockerMediaTypes,
    });
    const planned = await planImport(run, input);
    const counts = await commitBlobs(run, input, planned);
    if (!options.dryRun) await nameImages(run, planned.records);
    await input.abortAll();
    await run.lease?.release();
    return importResult(run, input, planned, counts);
  } catch (e) {
    await run.abortWrites?.().catch(() => {});
    if (!options.dryRun && run.added.length) await rollback(store, run.added, run.lease);
    else await run.lease?.release().catch(() => {});
    throw e;
  }
}

/** One import in progress: what every step reads, and what a rollback needs. */
interface ImportRun {
  readonly store: ImportTarget;
  readonly options: ImportOptions;
  readonly runtime: Runtime;
  readonly maxJsonBytes: number;
  /** The input's label, for messages. */
  readonly what: string;
  readonly warnings: string[];
  warn(message: string): void;
  /** Throws {@link CancelledError} once the import's signal aborted. */
  cancelled(): void;
  readonly lease?: Lease;
  /** Discards the input's uncommitted writes, as soon as there are any (on failure). */
  abortWrites?: () => Promise<void>;
  /** Blobs this import added (removed again on failure). */
  readonly added: Digest[];
}

/** What the plan decided, and the names the import will record. */
interface PlannedImport {
  readonly plan: Plan;
  readonly records: ImageRecord[];
}

/**
 * Plan: walk every entry (documents parsed, sizes and presence checked, platforms
 * filtered), refuse missing content unless allowed, and work out the names.
 */
async function planImport(run: ImportRun, input: OpenedInput): Promise<PlannedImport> {
  const { what, options } = run;
  const plan = await makePlan(run.store, input.entries, {
    input,
    platforms: options.platforms ?? [],
    maxJsonBytes: run.maxJsonBytes,
    what,
    warn: run.warn,
    nameOf: (e) => entryName(e.annotations, options) ?? e.digest,
    runtime: run.runtime,
    lease: run.lease,
  });
  if (plan.missing.length && !options.allowMissing) {
    // One line, however many: the first few (the error's `missing` lists every one).
    const shown = plan.missing.slice(0, MISSING_SHOWN)
      .map((m) => `${m.digest} (${m.mediaType}) of ${m.image}`);
    const more = plan.missing.length - shown.length;
    throw new MissingContentError(
      `Cannot import ${what}: ${plan.missing.length} blob${
        plan.missing.length === 1 ? " is" : "s are"
      } missing: ${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}`,
      plan.missing,
    );
  }
  const kept = input.entries.filter((e) => !plan.skipped.has(e.digest));
  const records: ImageRecord[] = importNames(kept, options);
  if (options.indexName && input.index) {
    records.push({ name: options.indexName, target: input.index });
    plan.reachable.set(input.index.digest, input.index);
  }
  return { plan, records };
}

/**
 * Commit: stage what is not staged yet (a folder's blobs), then commit every reachable
 * blob the store does not have, each verified by its writer. A dry run only counts.
 */
async function commitBlobs(
  run: ImportRun,
  input: OpenedInput,
  planned: PlannedImport,
): Promise<{ present: number; bytes: number; repaired: number }> {
  const { store, what } = run;
  const { plan } = planned;
  const disappeared = (d: Descriptor) =>
    new NotFoundError(
      `Cannot import ${what}: blob ${d.digest} disappeared from the store during the import; run the import again`,
    );
  let present = 0;
  let bytes = 0;
  let repaired = 0;
  const toCommit: Descriptor[] = [];
  /** Stored blobs of the right size that do not hash to their name (`verifyExisting`). */
  const corrupt = new Set<Digest>();
  await run.lease?.add([...plan.reachable.keys()]);
  for (const d of plan.reachable.values()) {
    const inInput = async () => (await input.size(d.digest)) !== undefined;
    // Present means the right size: a damaged blob under the name is written again.
    if ((await blobPresence(store, d)) === "present") {
      const problem = run.options.verifyExisting
        ? await verifyBlob(store, d.digest, { size: d.size, runtime: run.runtime })
        : undefined;
      if (!problem || problem.kind === "missing") {
        present++;
        continue;
      }
      if (!(await inInput())) {
        throw new DigestMismatchError(
          `Cannot import ${what}: ${d.mediaType} ${d.digest} in the store is corrupt (${problem.message}) and ${what} does not include it; remove it with 'lading content rm' and import an input that has it`,
          d.digest,
          problem.message.match(/hashes to (\S+)/)?.[1] ?? problem.kind,
        );
      }
      corrupt.add(d.digest);
    } else if (!(await inInput())) {
      if (plan.missing.some((x) => x.digest === d.digest)) continue; // allowed missing
      throw disappeared(d);
    }
    await input.stage(d);
    toCommit.push(d);
  }
  for (const d of toCommit) {
    if (run.options.dryRun) {
      if (corrupt.has(d.digest)) repaired++;
      else run.added.push(d.digest);
      bytes += d.size;
      continue;
    }
    run.cancelled();
    if (corrupt.has(d.digest)) {
      // The verified copy takes the corrupt one's place (kept even if the import fails).
      await store.delete(d.digest).catch((e) => {
        if (!(e instanceof NotFoundError)) throw e;
      });
      run.warn(`${d.mediaType} ${d.digest} in the store was corrupt: replaced by the input's copy`);
      if (!(await input.commit(d))) throw disappeared(d);
      repaired++;
      bytes += d.size;
      continue;
    }
    const result = await input.commit(d) ??
      (await store.has(d.digest) ? { added: false } : undefined);
    if (!result) throw disappeared(d);
    if (result.added) {
      run.added.push(d.digest);
      bytes += d.size;
    } else present++;
  }
  return { present, bytes, repaired };
}

/** Name: record the names last, after every blob they reach is present. */
async function nameImages(run: ImportRun, records: ImageRecord[]): Promise<void> {
  await run.options.beforeNaming?.(run.store, records);
  run.cancelled();
  await run.store.putImages(records);
}

/** The report of a finished import. */
function importResult(
  run: ImportRun,
  input: OpenedInput,
  planned: PlannedImport,
  counts: { present: number; bytes: number; repaired: number },
): ImportResult {
  const { plan, records } = planned;
  const missing = run.options.allowMissing ? plan.missing : [];
  if (missing.length) {
    run.warn(`${missing.length} blob(s) missing from ${run.what}; the image is incomplete`);
  }
  return {
    format: input.format,
    compression: input.compression,
    images: records.map((r) => ({
      name: r.name,
      digest: r.target.digest,
      mediaType: r.target.mediaType,
      size: r.target.size,
    })),
    entries: input.entries.map((e) => ({
      digest: e.digest,
      mediaType: e.mediaType,
      size: e.size,
      ...(e.platform ? { platform: e.platform } : {}),
      names: records.filter((r) => r.target.digest === e.digest).map((r) => r.name),
      imported: !plan.skipped.has(e.digest),
    })),
    blobs: {
      added: run.added.length,
      present: counts.present,
      bytes: counts.bytes,
      ...(counts.repaired ? { repaired: counts.repaired } : {}),
    },
    missing,
    warnings: run.warnings,
  };
}

/** A check that throws {@link CancelledError} once `signal` aborted. */
function cancellation(signal: AbortSignal | undefined, what: string): () => void {
  return () => {
    if (signal?.aborted) {
      throw new CancelledError(`Cannot import ${what}: cancelled`, { cause: signal.reason });
    }
  };
}

/**
 * Removes the blobs this import added that no other operation holds a lease on and no
 * name reaches. It does not depend on reading the store's names: when index.json cannot
 * be read, nobody could have recorded a name that reaches them, and they go.
 */
async function rollback(
  store: ImportTarget,
  added: Digest[],
  lease: Lease | undefined,
): Promise<void> {
  await lease?.release().catch(() => {});
  await store.exclusive(async () => {
    const leased = await store.leasedDigests();
    const named = await reachedByNames(store);
    for (const d of added) {
      if (leased.has(d) || named.has(d)) continue;
      await store.delete(d).catch(() => {});
    }
  }).catch(() => {});
}

/**
 * What the store's names reach (another import may have named an image that shares
 * blobs with this one meanwhile); none when the names cannot be read, only their targets
 * when a named document cannot be.
 */
async function reachedByNames(store: ImportTarget): Promise<Set<Digest>> {
  let records: ImageRecord[];
  try {
    records = await store.listImages();
  } catch {
    return new Set();
  }
  const roots = records.map((r) => r.target);
  try {
    return new Set((await reachableDigests(store, { roots })).keys());
  } catch {
    return new Set(roots.map((r) => r.digest));
  }
}
