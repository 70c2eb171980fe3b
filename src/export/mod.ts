// This module is browser compatible.
/**
 * Store → archive: an oci-archive (oci-layout, index.json with the names the way
 * containerd writes them, blobs/) or a `docker save` archive (manifest.json with
 * RepoTags), streamed straight from the store, never whole in memory.
 *
 * Export is planned first — every name resolved, the platform selection made, every blob
 * checked to be present with the right size — and only then streamed, so a plan that
 * succeeds yields a complete archive unless the store changes underneath. The bytes are
 * deterministic: members sorted by path, owner 0:0, mtime 0, fixed modes, compact JSON.
 *
 * @example
 * ```ts
 * import { planExport } from "@lading/oci";
 * import { MemoryStore } from "@lading/oci";
 * import { writeBlob } from "@lading/oci";
 * const store = new MemoryStore();
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * await writeBlob(store, new TextEncoder().encode("{}"), { digest, size: 2 });
 * await store.putImages([{
 *   name: "example.com/empty:1",
 *   target: { mediaType: "application/vnd.oci.empty.v1+json", digest, size: 2 },
 * }]);
 * const plan = await planExport(store, ["example.com/empty:1"]);
 * const bytes = new Uint8Array(await new Response(plan.stream()).arrayBuffer());
 * console.log(bytes.byteLength === plan.size); // true
 * ```
 * @module
 */
import { type Digest, isDigest, shortDigest } from "../digest.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  MissingContentError,
  NotFoundError,
  SizeMismatchError,
} from "../errors.ts";
import { findImage, type ResolvedImage, resolveImage } from "../image.ts";
import { ociRefName } from "../import/names.ts";
import {
  CONTAINERD_NAME,
  isNonDistributable,
  layerCompression,
  OCI_INDEX,
  OCI_REF_NAME,
} from "../media_types.ts";
import { formatPlatform, isAttestation, platformMatches } from "../platform.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Hasher, Runtime } from "../runtime/types.ts";
import type { BlobProvider, ImageRecord, ImageSource } from "../store/types.ts";
import type { Descriptor, Platform } from "../types.ts";
import {
  blobPresence,
  childrenOf,
  configPlatform,
  mayHaveChildren,
  readConfig,
  readDocument,
  walk,
} from "../walk.ts";
import { blobPath, type DockerArchiveImage, dockerManifestJson, dockerRepoTag } from "./docker.ts";
import { largeChunks } from "../streams.ts";
import { type Selection, selectPlatforms, SUBSET_OF_ANNOTATION } from "./select.ts";
import { TAR_END, tarArchiveSize, tarHeader, type TarMember, tarPadding } from "./tar_writer.ts";

export { SUBSET_OF_ANNOTATION };

/** Archive formats. */
export type ExportFormat = "oci" | "docker";

/** Options of {@link planExport}. */
export interface ExportOptions {
  /** `oci` (default): an oci-archive; `docker`: a `docker save` archive. */
  readonly format?: ExportFormat;
  /**
   * Only these platforms' content. An index that loses entries is rewritten to list only
   * the kept ones (and says so, see {@link SUBSET_OF_ANNOTATION}); with `keepIndex` the
   * original index is exported and the archive is partial. For `docker`, the first
   * platform an image has is exported (default: the host's, else the first).
   */
  readonly platforms?: readonly Platform[];
  /** With `platforms`: keep indexes as they are (a partial archive, like `ctr export`). */
  readonly keepIndex?: boolean;
  /** Leave out non-distributable (foreign) layers even when the store has them. */
  readonly skipNonDistributable?: boolean;
  /** Re-hash every blob while streaming; a mismatch fails the stream. */
  readonly verify?: boolean;
  /** Wrap the archive in gzip (true: level 6, or a level 1-9). */
  readonly gzip?: boolean | number;
  /** JSON size cap (default 4 MiB). */
  readonly maxJsonBytes?: number;
  /** Hashing/compression runtime (default: detected). */
  readonly runtime?: Runtime;
  /** Same-kind media type differences and other non-fatal findings. */
  readonly onWarning?: (message: string) => void;
}

/** One image in the archive. */
export interface ExportedImage {
  /** The name as the store records it (the digest for unnamed content). */
  readonly name: string;
  /** What the archive's entry points at (differs from the store's after a rewrite). */
  readonly digest: Digest;
  /** The media type of what the name points at. */
  readonly mediaType: string;
  /** Platforms whose content is in the archive (formatted, sorted). */
  readonly platforms: readonly string[];
  /** The store's index, when the archive holds a rewritten subset of it. */
  readonly rewrittenFrom?: Digest;
  /** docker format: the RepoTags entry (absent when the name has no tag). */
  readonly repoTag?: string;
}

/** A planned export; {@link ExportPlan.stream} produces the bytes. */
export interface ExportPlan {
  /** `oci` or `docker`. */
  readonly format: ExportFormat;
  /** The images written, in order. */
  readonly images: readonly ExportedImage[];
  /** Every blob copied from the store, sorted by digest. */
  readonly blobs: readonly Descriptor[];
  /** Bytes of the tar (before gzip). */
  readonly size: number;
  /** What the user should know: rewritten indexes, left-out blobs, partial archives. */
  readonly notes: readonly string[];
  /** Blobs left out (non-distributable). */
  readonly skipped: readonly Descriptor[];
  /** The archive is wrapped in gzip. */
  readonly gzip: boolean;
  /** Blobs are re-hashed while they are copied. */
  readonly verify: boolean;
  /**
   * The tar (before gzip) piece by piece, for a writer that copies blobs its own way
   * (`writeArchiveFile` in `deno/export_file.ts`). It must check each blob with
   * {@link checkStoredBlob} before and {@link checkCopiedBlob} after copying it.
   */
  parts(): readonly ArchivePart[];
  /**
   * A new stream of the archive. `onProgress` receives the tar bytes produced so far.
   * The stream errors when a blob vanished or changed since planning.
   */
  stream(options?: WriteOptions): ReadableStream<Uint8Array>;
  /**
   * Writes the archive into `sink` and closes it; on failure `sink` is aborted and the
   * promise rejects. Blob bytes are piped straight from the store (the fastest path).
   */
  writeTo(sink: WritableStream<Uint8Array>, options?: WriteOptions): Promise<void>;
}

/** Options of {@link ExportPlan.stream} and {@link ExportPlan.writeTo}. */
export interface WriteOptions {
  /** Tar bytes written so far (before gzip). */
  readonly onProgress?: (bytes: number) => void;
  /**
   * `writeTo` only: the sink is done with a chunk when its write resolved (a file, a
   * socket — not a TransformStream), so read buffers may be reused: about 3× less CPU
   * for large blobs. Ignored with gzip.
   */
  readonly reuseBuffers?: boolean;
}

type Member =
  | { readonly path: string; readonly type: "directory"; readonly size: 0 }
  | { readonly path: string; readonly size: number; readonly bytes: Uint8Array }
  | { readonly path: string; readonly size: number; readonly blob: Descriptor };

const enc = new TextEncoder();
const GO_DESCRIPTOR_ORDER = [
  "mediaType",
  "digest",
  "size",
  "urls",
  "annotations",
  "data",
  "platform",
  "artifactType",
];

/** A descriptor with fields in Go's struct order and annotation keys sorted (like containerd). */
function goDescriptor(
  d: Descriptor,
  annotations?: Record<string, string>,
): Record<string, unknown> {
  const src: Record<string, unknown> = { ...d };
  const merged = { ...d.annotations, ...annotations };
  if (Object.keys(merged).length) {
    src.annotations = Object.fromEntries(
      Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  const out: Record<string, unknown> = {};
  for (const k of GO_DESCRIPTOR_ORDER) if (src[k] !== undefined) out[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in out)) out[k] = src[k];
  return out;
}

function isForeign(d: Descriptor): boolean {
  return isNonDistributable(d.mediaType) || (d.urls !== undefined && d.urls.length > 0);
}

/** True when `record` is a real name (not the pseudo-record {@link findImage} makes for a digest). */
function isNamed(record: ImageRecord, asked: string): boolean {
  return !(record.name === asked && isDigest(asked) && record.target.digest === asked);
}

/**
 * Plans an export of `names` (names, familiar names or digests of stored images).
 *
 * @throws {NotFoundError} for an unknown name or a platform an image does not have;
 *   {@link MissingContentError} listing every needed blob that is absent;
 *   {@link SizeMismatchError} when a stored blob's size differs from its descriptor.
 *
 * @example
 * ```ts
 * import { appendLayer, planExport, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const plan = await planExport(store, ["example.com/a:1"]);
 * console.log(plan.format, plan.blobs.length); // oci 3
 * ```
 */
export async function planExport(
  store: ImageSource,
  names: readonly string[],
  options: ExportOptions = {},
): Promise<ExportPlan> {
  if (names.length === 0) throw new TypeError("export needs at least one image name");
  // Loaded only when needed (gzip, verify): loading it costs a plain export's start-up.
  const runtime = () => options.runtime ? Promise.resolve(options.runtime) : getRuntime();
  const format = options.format ?? "oci";
  if (format !== "oci" && format !== "docker") {
    throw new TypeError(`unknown export format ${JSON.stringify(format)} (oci or docker)`);
  }
  const notes: string[] = [];
  const note = (m: string) => notes.push(m);
  const collected = format === "oci"
    ? await planOci(store, names, options, note)
    : await planDocker(store, names, options, note);
  const { members, images, blobs, skipped } = collected;
  members.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const size = tarArchiveSize(members.map(toTarMember));
  const parts = archiveParts(members);
  return {
    format,
    images,
    blobs,
    size,
    notes,
    skipped,
    gzip: !!options.gzip,
    verify: !!options.verify,
    parts: () => parts,
    writeTo: (sink, writeOptions = {}) =>
      writeArchive(store, parts, sink, {
        runtime,
        verify: !!options.verify,
        gzip: options.gzip,
        onProgress: writeOptions.onProgress,
        reuseBuffers: writeOptions.reuseBuffers,
      }),
    stream: (writeOptions = {}) => {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      writeArchive(store, parts, writable, {
        runtime,
        verify: !!options.verify,
        gzip: options.gzip,
        onProgress: writeOptions.onProgress,
      }).catch(() => {}); // the error reaches the reader through the aborted stream
      return readable;
    },
  };
}

/**
 * Plans and streams in one call; see {@link planExport}.
 *
 * @example
 * ```ts
 * import { appendLayer, exportArchive, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const tar = await new Response(await exportArchive(store, ["example.com/a:1"], { format: "docker" })).arrayBuffer();
 * console.log(tar.byteLength % 512); // 0
 * ```
 */
export async function exportArchive(
  store: ImageSource,
  names: readonly string[],
  options: ExportOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  return (await planExport(store, names, options)).stream();
}

function toTarMember(m: Member): TarMember {
  return "type" in m
    ? { path: m.path, size: 0, type: "directory" }
    : { path: m.path, size: m.size };
}

interface Collected {
  members: Member[];
  images: ExportedImage[];
  blobs: Descriptor[];
  skipped: Descriptor[];
}

function blobDirectories(blobs: Iterable<Descriptor>): Member[] {
  const algorithms = new Set<string>();
  for (const b of blobs) algorithms.add(b.digest.slice(0, b.digest.indexOf(":")));
  return [
    { path: "blobs/", type: "directory", size: 0 },
    ...[...algorithms].map((a): Member => ({ path: `blobs/${a}/`, type: "directory", size: 0 })),
  ];
}

async function resolveRecords(store: ImageSource, names: readonly string[]) {
  const records: { record: ImageRecord; named: boolean }[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    const record = await findImage(store, n);
    if (seen.has(record.name)) continue;
    seen.add(record.name);
    records.push({ record, named: isNamed(record, n) });
  }
  return records;
}

async function planOci(
  store: ImageSource,
  names: readonly string[],
  options: ExportOptions,
  note: (m: string) => void,
): Promise<Collected> {
  const platforms = options.platforms ?? [];
  const blobs = new Map<Digest, Descriptor>();
  const documents = new Map<Digest, Uint8Array>();
  const missing: { digest: Digest; mediaType: string; image: string }[] = [];
  const skipped = new Map<Digest, Descriptor>();
  const images: ExportedImage[] = [];
  const entries: Record<string, unknown>[] = [];
  const docOptions = { maxJsonBytes: options.maxJsonBytes, onWarning: options.onWarning };
  for (const { record, named } of await resolveRecords(store, names)) {
    const name = record.name;
    const selection: Selection = await selectPlatforms(store, record.target, platforms, {
      rewrite: !options.keepIndex,
      name,
      maxJsonBytes: options.maxJsonBytes,
      runtime: options.runtime,
      onWarning: options.onWarning,
    });
    for (const [d, bytes] of selection.documents) documents.set(d, bytes);
    const present = new Set<string>();
    await walk([selection.target], async (d) => {
      if (d.platform && !isAttestation(d)) present.add(formatPlatform(d.platform));
      const rewritten = selection.documents.get(d.digest);
      if (rewritten) {
        blobs.set(d.digest, d);
        return selection.children.get(d.digest) ?? [];
      }
      if (options.skipNonDistributable && isForeign(d)) {
        skipped.set(d.digest, d);
        return [];
      }
      if (!(await presentForExport(store, d, name))) {
        if (isForeign(d)) skipped.set(d.digest, d);
        else missing.push({ digest: d.digest, mediaType: d.mediaType, image: name });
        return [];
      }
      blobs.set(d.digest, d);
      const only = selection.children.get(d.digest);
      if (only) return only;
      if (!mayHaveChildren(d)) return [];
      const doc = await readDocument(store, d, docOptions);
      if (doc?.kind === "manifest" && !d.platform && present.size === 0) {
        if (await store.has(doc.manifest.config.digest)) {
          const c = await readConfig(store, doc.manifest.config, docOptions).catch(() => undefined);
          if (c) present.add(formatPlatform(configPlatform(c)));
        }
      }
      return childrenOf(doc);
    }, {});
    const target = selection.target;
    const rewrite = selection.rewrites.find((r) => r.to === target.digest);
    for (const r of selection.rewrites) {
      note(
        `${name}: index ${shortDigest(r.from)} rewritten as ${r.to} with ${r.kept} of ${
          r.kept + r.dropped
        } entries (${
          selection.platforms.join(", ")
        }); it carries the annotation ${SUBSET_OF_ANNOTATION}=${r.from}`,
      );
    }
    if (options.keepIndex && selection.children.size) {
      note(
        `${name}: the archive holds the original index ${
          shortDigest(target.digest)
        } but only the content of ${
          selection.platforms.join(", ")
        }; import it with --allow-missing`,
      );
    }
    images.push({
      name,
      digest: target.digest,
      mediaType: target.mediaType,
      platforms: platforms.length ? selection.platforms : [...present].sort(),
      ...(rewrite ? { rewrittenFrom: record.target.digest } : {}),
    });
    entries.push(
      goDescriptor(
        target,
        named ? { [CONTAINERD_NAME]: name, [OCI_REF_NAME]: ociRefName(name) } : undefined,
      ),
    );
  }
  if (missing.length) throw missingError(missing);
  for (const d of skipped.values()) {
    note(`non-distributable blob ${d.digest} (${d.mediaType}) is not included`);
  }
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries };
  const members: Member[] = [
    ...blobDirectories(blobs.values()),
    { path: "oci-layout", size: 30, bytes: enc.encode('{"imageLayoutVersion":"1.0.0"}') },
  ];
  const indexBytes = enc.encode(JSON.stringify(index));
  members.push({ path: "index.json", size: indexBytes.byteLength, bytes: indexBytes });
  for (const d of blobs.values()) {
    const bytes = documents.get(d.digest);
    members.push(
      bytes
        ? { path: blobPath(d), size: bytes.byteLength, bytes }
        : { path: blobPath(d), size: d.size, blob: d },
    );
  }
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return { members, images, blobs: sorted, skipped: [...skipped.values()] };
}

function missingError(missing: { digest: Digest; mediaType: string; image: string }[]) {
  const lines = missing.map((m) => `  ${m.digest} (${m.mediaType}) of ${m.image}`);
  return new MissingContentError(
    `Cannot export: ${missing.length} blob${
      missing.length === 1 ? " is" : "s are"
    } not in the store (use --platform to export only complete platforms):\n${lines.join("\n")}`,
    missing,
  );
}

async function resolveForDocker(
  store: ImageSource,
  name: string,
  platforms: readonly Platform[],
  options: ExportOptions,
): Promise<ResolvedImage> {
  const readOptions = { maxJsonBytes: options.maxJsonBytes, onWarning: options.onWarning };
  if (platforms.length === 0) return await resolveImage(store, name, readOptions);
  let first: unknown;
  for (const platform of platforms) {
    try {
      const r = await resolveImage(store, name, { ...readOptions, platform });
      if (platformMatches(platform, r.platform)) return r;
      first ??= new NotFoundError(
        `Cannot export ${r.name}: it is ${formatPlatform(r.platform)}, not ${
          formatPlatform(platform)
        }`,
      );
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      first ??= e;
    }
  }
  throw first;
}

async function planDocker(
  store: ImageSource,
  names: readonly string[],
  options: ExportOptions,
  note: (m: string) => void,
): Promise<Collected> {
  if (options.skipNonDistributable) {
    throw new TypeError(
      "the docker format cannot leave layers out: --skip-non-distributable is for --format oci",
    );
  }
  const platforms = options.platforms ?? [];
  const groups = new Map<Digest, DockerArchiveImage & { repoTags: string[] }>();
  const images: ExportedImage[] = [];
  const blobs = new Map<Digest, Descriptor>();
  const missing: { digest: Digest; mediaType: string; image: string }[] = [];
  for (const { record, named } of await resolveRecords(store, names)) {
    const r = await resolveForDocker(store, record.name, platforms, options);
    const tag = named ? dockerRepoTag(record.name) : undefined;
    if (named && !tag) {
      note(`${record.name} has no tag: the docker archive lists its image without this name`);
    }
    let group = groups.get(r.manifestDescriptor.digest);
    if (!group) {
      group = { config: r.manifest.config, layers: r.manifest.layers, repoTags: [] };
      groups.set(r.manifestDescriptor.digest, group);
      if (r.config.rootfs.diff_ids.length !== r.manifest.layers.length) {
        throw new InvalidInputError(
          `Cannot export ${record.name} as a docker archive: its manifest has ${r.manifest.layers.length} layers but its config ${r.config.rootfs.diff_ids.length} diff_ids`,
        );
      }
      for (const d of [r.manifest.config, ...r.manifest.layers]) {
        if (!(await presentForExport(store, d, record.name))) {
          missing.push({ digest: d.digest, mediaType: d.mediaType, image: record.name });
          continue;
        }
        blobs.set(d.digest, d);
        if (layerCompression(d.mediaType) === "zstd") {
          options.onWarning?.(
            `${record.name}: layer ${
              shortDigest(d.digest)
            } is zstd-compressed; older docker versions cannot load it`,
          );
        }
      }
    }
    if (tag && !group.repoTags.includes(tag)) group.repoTags.push(tag);
    images.push({
      name: record.name,
      digest: r.manifestDescriptor.digest,
      mediaType: r.manifestDescriptor.mediaType,
      platforms: [formatPlatform(r.platform)],
      ...(tag ? { repoTag: tag } : {}),
    });
    if (r.manifestDescriptor.digest !== record.target.digest) {
      note(
        `${record.name}: exported ${formatPlatform(r.platform)} (manifest ${
          shortDigest(r.manifestDescriptor.digest)
        }); a docker archive holds one platform per image`,
      );
    }
  }
  if (missing.length) throw missingError(missing);
  const manifest = dockerManifestJson([...groups.values()]);
  const members: Member[] = [
    ...blobDirectories(blobs.values()),
    { path: "manifest.json", size: manifest.byteLength, bytes: manifest },
  ];
  for (const d of blobs.values()) members.push({ path: blobPath(d), size: d.size, blob: d });
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return { members, images, blobs: sorted, skipped: [] };
}

/**
 * One piece of an archive, in order: bytes as they are (tar headers, generated JSON,
 * padding, the end blocks) or the content of a stored blob.
 */
export type ArchivePart = { readonly bytes: Uint8Array } | { readonly blob: Descriptor };

function archiveParts(members: readonly Member[]): ArchivePart[] {
  const parts: ArchivePart[] = [];
  for (const m of members) {
    parts.push({ bytes: tarHeader(toTarMember(m)) });
    if ("type" in m) continue;
    parts.push("bytes" in m ? { bytes: m.bytes } : { blob: m.blob });
    const pad = tarPadding(m.size);
    if (pad.byteLength) parts.push({ bytes: pad });
  }
  parts.push({ bytes: TAR_END });
  return parts;
}

/**
 * True when the store has `d`'s blob with the right size, false when it is missing.
 * @throws {SizeMismatchError} for a blob of another size
 */
async function presentForExport(store: BlobProvider, d: Descriptor, name: string) {
  const found = await blobPresence(store, d);
  if (typeof found === "object") {
    throw new SizeMismatchError(
      `Cannot export ${name}: blob ${d.digest} has ${found.size} bytes in the store, its descriptor says ${d.size}; run 'lading content verify'`,
      d.size,
      found.size,
    );
  }
  return found === "present";
}

/**
 * Checks, right before a blob is read, that the store still has it with the planned size.
 * @throws {SizeMismatchError}, or the store's {@link NotFoundError}
 */
export async function checkStoredBlob(store: BlobProvider, d: Descriptor): Promise<void> {
  const info = await store.info(d.digest);
  if (info.size !== d.size) {
    throw new SizeMismatchError(
      `Cannot export: blob ${d.digest} has ${info.size} bytes, its descriptor says ${d.size}`,
      d.size,
      info.size,
    );
  }
}

/**
 * Checks what was copied of a blob: `copied` bytes (more than `d.size` means the copy
 * stopped early at a grown blob) and, when verifying, the digest the bytes hash to.
 * @throws {SizeMismatchError} | {DigestMismatchError}
 */
export function checkCopiedBlob(d: Descriptor, copied: number, actual?: string): void {
  if (copied !== d.size) {
    throw new SizeMismatchError(
      `Cannot export: blob ${d.digest} has ${
        copied > d.size ? `more than ${d.size}` : copied
      } bytes, its descriptor says ${d.size}`,
      d.size,
      copied,
    );
  }
  if (actual !== undefined && actual !== d.digest) {
    throw new DigestMismatchError(
      `Cannot export: blob ${d.digest} in the store hashes to ${actual}; run 'lading content verify'`,
      d.digest,
      actual,
    );
  }
}

/** The hasher for `d`'s algorithm, or none. */
export async function blobHasher(
  runtime: () => Promise<Runtime>,
  d: Descriptor,
  verify: boolean,
): Promise<{ hasher: Hasher; algorithm: string } | undefined> {
  if (!verify) return undefined;
  const algorithm = d.digest.startsWith("sha512:") ? "sha512" : "sha256";
  return { hasher: await (await runtime()).createHasher(algorithm), algorithm };
}

async function writeArchive(
  store: BlobProvider,
  parts: readonly ArchivePart[],
  sink: WritableStream<Uint8Array>,
  options: {
    runtime: () => Promise<Runtime>;
    verify: boolean;
    gzip?: boolean | number;
    onProgress?: (bytes: number) => void;
    reuseBuffers?: boolean;
  },
): Promise<void> {
  let out = sink;
  let compressed: Promise<void> | undefined;
  if (options.gzip) {
    const gz = (await options.runtime()).gzip(options.gzip === true ? 6 : options.gzip);
    compressed = gz.readable.pipeTo(sink);
    compressed.catch(() => {});
    out = gz.writable;
  }
  let total = 0;
  const progress = options.onProgress;
  const count = (n: number) => {
    total += n;
    progress?.(total);
  };
  // One writer for the whole archive: Deno's pipeTo between two resource streams takes a
  // shortcut past the writable's queue, so mixing it with writer writes reorders bytes.
  // Writes are not awaited one by one (only `ready`): reading the next chunk overlaps
  // writing the previous one.
  const w = out.getWriter();
  try {
    for (const part of parts) {
      if ("bytes" in part) {
        await w.ready;
        w.write(part.bytes).catch(() => {}); // a failed write rejects `ready` and `close`
        count(part.bytes.byteLength);
        continue;
      }
      const d = part.blob;
      await checkStoredBlob(store, d);
      const hashing = await blobHasher(options.runtime, d, options.verify);
      // Reused buffers go round six slots with one read ahead, so a chunk stays valid for
      // four more; at most three writes are in flight, so no buffer is read into while a
      // write still holds it.
      const reuse = !!options.reuseBuffers && !options.gzip;
      const chunks = largeChunks(
        await store.reader(d.digest),
        reuse ? { buffers: 6, readAhead: 1 } : { fresh: true, readAhead: 1 },
      );
      const writing: Promise<void>[] = [];
      let n = 0;
      for await (const chunk of chunks) {
        n += chunk.byteLength;
        if (n > d.size) break;
        hashing?.hasher.update(chunk);
        await w.ready;
        const written = w.write(chunk);
        written.catch(() => {}); // a failed write rejects `ready` and `close`
        count(chunk.byteLength);
        if (reuse) {
          writing.push(written);
          if (writing.length >= 3) await writing.shift();
        }
      }
      await Promise.all(writing);
      checkCopiedBlob(d, n, hashing && `${hashing.algorithm}:${hashing.hasher.digest()}`);
    }
    await w.close();
    await compressed;
  } catch (e) {
    await w.abort(e).catch(() => {});
    if (out !== sink) await sink.abort(e).catch(() => {});
    throw e;
  }
}
