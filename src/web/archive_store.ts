// This module is browser compatible.
/**
 * "Open" without importing: an {@link ImageSource} over an archive's members (indexed
 * with {@link indexTar}) or over an OCI layout folder. Names come from the importer's own
 * naming rules, docker archives get the importer's own synthesized manifests, and every
 * blob read from offset 0 is verified against its digest as it streams — so the library's
 * `resolveImage`, `listImageSummaries`, `mergeImage` and `exportArchive` work on it as on
 * any store, and a lying archive fails the read that meets the lie.
 *
 * For a docker archive, an uncompressed layer's digest is taken from its config's diff_id
 * (that is what it must hash to) instead of being hashed up front; compressed layers
 * (rare) are hashed while opening.
 *
 * @example
 * ```ts
 * import { indexTar } from "./tar_index.ts";
 * import { openArchive, tarFiles } from "./archive_store.ts";
 * import { packTar } from "modern-tar";
 * const tar = await packTar([
 *   { header: { name: "oci-layout", size: 30 }, body: '{"imageLayoutVersion":"1.0.0"}' },
 *   { header: { name: "index.json", size: 34 }, body: '{"schemaVersion":2,"manifests":[]}' },
 * ]);
 * const view = await openArchive(tarFiles(await indexTar(new Blob([tar]))));
 * console.log(view.format, view.images.length); // oci-archive 0
 * ```
 * @module
 */
import { type Digest, parseDigest, verifyingStream } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { layoutRoot } from "../import/detect.ts";
import { synthesizeDockerImages } from "../import/docker.ts";
import { importNames, type NameOptions } from "../import/names.ts";
import type { DirectorySource } from "../import/source.ts";
import { detectCompression } from "../compression.ts";
import type { Member, Staging } from "../import/staging.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import {
  DEFAULT_JSON_LIMIT,
  parseConfig,
  parseDockerArchiveManifest,
  parseImageLayout,
  parseIndex,
} from "../schema.ts";
import { readAllBytes } from "../store/blob.ts";
import type { BlobInfo, BlobManager, ImageRecord, ImageSource } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { indexTar, resolveTarMember, type TarIndex } from "./tar_index.ts";

/** Files read by path, with random access. */
export interface RandomAccessFiles {
  /** For messages. */
  readonly label: string;
  /** Whether this is an archive (`oci-archive`/`docker-archive`) or a folder. */
  readonly kind: "archive" | "directory";
  /** Every regular file path, when the source can list them (archives). */
  paths?(): Iterable<string>;
  /** Size of a regular file (links followed), or undefined. */
  stat(path: string): Promise<{ size: number } | undefined>;
  /** The bytes of a regular file from `offset`. @throws {NotFoundError} */
  open(path: string, offset?: number): Promise<ReadableStream<Uint8Array>>;
}

/** {@link RandomAccessFiles} over an indexed tar (`File.slice` per read). */
export function tarFiles(index: TarIndex, label = "archive"): RandomAccessFiles {
  return {
    label,
    kind: "archive",
    paths: () => index.members.keys(),
    stat: (path) => {
      const m = resolveTarMember(index, path, label);
      return Promise.resolve(m ? { size: m.size } : undefined);
    },
    open: (path, offset = 0) => {
      const m = resolveTarMember(index, path, label);
      if (!m) return Promise.reject(new NotFoundError(`${label}: no member ${path}`));
      const start = m.offset + Math.min(offset, m.size);
      return Promise.resolve(
        index.blob.slice(start, m.offset + m.size).stream() as ReadableStream<Uint8Array>,
      );
    },
  };
}

/** {@link RandomAccessFiles} over the importer's {@link DirectorySource} (a folder). */
export function directoryFiles(source: DirectorySource): RandomAccessFiles {
  return {
    label: source.label,
    kind: "directory",
    stat: (path) => source.stat(path),
    open: async (path, offset = 0) => {
      const stream = await source.open(path);
      return offset > 0 ? stream.pipeThrough(skipBytes(offset)) : stream;
    },
  };
}

function skipBytes(n: number): TransformStream<Uint8Array, Uint8Array> {
  let left = n;
  return new TransformStream({
    transform(chunk, controller) {
      if (left >= chunk.byteLength) {
        left -= chunk.byteLength;
        return;
      }
      controller.enqueue(left ? chunk.subarray(left) : chunk);
      left = 0;
    },
  });
}

/**
 * An opened archive or layout: an {@link ImageSource} (what `resolveImage`, `exportArchive`,
 * `checkImages` and the page's inspection read) that can also list its blobs.
 */
export type ArchiveSource = ImageSource & Pick<BlobManager, "list">;

/** What {@link openArchive} found. */
export interface ArchiveView {
  /** The input as an image source (read in place, verified as it streams). */
  readonly store: ArchiveSource;
  /** The input's shape (as the importer names it). */
  readonly format: "oci-layout" | "oci-archive" | "docker-archive";
  /** The names, as an import with `digests` (for unnamed entries) would record them. */
  readonly images: ImageRecord[];
  /** Non-fatal findings. */
  readonly warnings: string[];
}

/** Options of {@link openArchive}. */
export interface OpenArchiveOptions extends NameOptions {
  /** Hashing runtime (default: detected). */
  readonly runtime?: Runtime;
  /** JSON cap (default 4 MiB). */
  readonly maxJsonBytes?: number;
}

async function readSmall(files: RandomAccessFiles, path: string, max: number): Promise<Uint8Array> {
  return await readAllBytes(await files.open(path), max, `${files.label}: ${path}`);
}

/** Normalizes a manifest.json path against the archive root; refuses escapes. */
function archivePath(root: string, p: string, what: string): string {
  const parts: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") {
      if (!parts.length) {
        throw new InvalidInputError(`${what}: manifest.json path ${JSON.stringify(p)} escapes`);
      }
      parts.pop();
    } else parts.push(s);
  }
  return root + parts.join("/");
}

/** An uncompressed archive `Blob` (a `File`) indexed for random access. */
async function blobFiles(blob: Blob): Promise<RandomAccessFiles> {
  const name = (blob as { name?: unknown }).name;
  const label = typeof name === "string" && name ? name : "archive";
  return tarFiles(await indexTar(blob, { what: label }), label);
}

/**
 * Opens an archive (a `Blob` or `File`, or files read by path) or a layout folder
 * read-only, without copying: blobs are read in place (`File.slice`) and verified as they
 * stream.
 *
 * @throws {InvalidInputError} when it is not an image archive or layout, or its documents
 *   are malformed.
 *
 * @example
 * ```ts
 * import { appendLayer, exportArchive, listImageFiles, openArchive, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const file = new Blob([await new Response(await exportArchive(store, ["example.com/a:1"])).arrayBuffer()]);
 * const view = await openArchive(file); // read in place, nothing copied
 * console.log((await listImageFiles(view.store, view.images[0].name)).length); // 2
 * ```
 */
export async function openArchive(
  input: Blob | RandomAccessFiles,
  options: OpenArchiveOptions = {},
): Promise<ArchiveView> {
  const files = typeof Blob !== "undefined" && input instanceof Blob
    ? await blobFiles(input)
    : input as RandomAccessFiles;
  const runtime = options.runtime ?? await getRuntime();
  const max = options.maxJsonBytes ?? DEFAULT_JSON_LIMIT;
  const what = files.label;
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const root = files.paths ? layoutRoot(files.paths()) : "";
  if (root === undefined) {
    throw new InvalidInputError(
      `Cannot open ${what}: not an image archive (no oci-layout or manifest.json in it)`,
    );
  }
  const names: NameOptions = {
    baseName: options.baseName,
    digests: options.digests ?? true,
    skipDigestForNamed: options.skipDigestForNamed ?? true,
    now: options.now,
  };
  const blobs = new Map<Digest, { path: string; size: number }>();
  const extras = new Map<Digest, Uint8Array>();
  const hasLayout = (await files.stat(`${root}oci-layout`)) !== undefined;
  let entries: Descriptor[] = [];
  let format: ArchiveView["format"] = files.kind === "archive" ? "oci-archive" : "oci-layout";
  if (hasLayout) {
    const layout = parseImageLayout(await readSmall(files, `${root}oci-layout`, max), {
      what: `${what}: oci-layout`,
    });
    if (layout.imageLayoutVersion !== "1.0.0") {
      throw new InvalidInputError(
        `Cannot open ${what}: unsupported imageLayoutVersion ${
          JSON.stringify(layout.imageLayoutVersion)
        }`,
      );
    }
    if (!(await files.stat(`${root}index.json`))) {
      throw new InvalidInputError(`Cannot open ${what}: index.json is missing`);
    }
    const index = parseIndex(await readSmall(files, `${root}index.json`, max), {
      what: `${what}: index.json`,
      onWarning: warn,
    });
    entries = [...index.manifests];
  }
  if (entries.length === 0 && (await files.stat(`${root}manifest.json`))) {
    format = "docker-archive";
    const docker = await openDocker(files, root, runtime, max);
    entries = docker.entries;
    for (const [d, b] of docker.extras) extras.set(d, b);
    for (const [d, m] of docker.blobs) blobs.set(d, m);
  } else if (!hasLayout) {
    throw new InvalidInputError(`Cannot open ${what}: not an OCI image layout (no oci-layout)`);
  }
  const images = importNames(entries, names);
  const store = new ArchiveStore({
    files,
    root: format === "docker-archive" ? undefined : root,
    blobs,
    extras,
    images,
    runtime,
  });
  return { store, format, images, warnings };
}

/** A docker archive's synthesized manifests (the importer's code) and its blob paths. */
async function openDocker(
  files: RandomAccessFiles,
  root: string,
  runtime: Runtime,
  max: number,
): Promise<{
  entries: Descriptor[];
  extras: Map<Digest, Uint8Array>;
  blobs: Map<Digest, { path: string; size: number }>;
}> {
  const what = files.label;
  const manifestJson = await readSmall(files, `${root}manifest.json`, max);
  const list = parseDockerArchiveManifest(manifestJson, { what: `${what}: manifest.json` });
  const members = new Map<string, Member>();
  const blobs = new Map<Digest, { path: string; size: number }>();
  const add = (m: Member) => {
    members.set(m.path, m);
    if (!blobs.has(m.digest)) blobs.set(m.digest, { path: m.path, size: m.size });
  };
  for (const item of list) {
    const configPath = archivePath(root, item.Config, what);
    const st = await files.stat(configPath);
    if (!st) continue; // the importer's code names what is missing
    const bytes = await readSmall(files, configPath, max);
    const h = await runtime.createHasher("sha256");
    h.update(bytes);
    const configDigest = `sha256:${h.digest()}` as Digest;
    add({ path: configPath, size: bytes.byteLength, digest: configDigest, bytes, head: bytes });
    const config = parseConfig(bytes, { what: `${what}: config ${item.Config}` });
    for (const [i, layer] of item.Layers.entries()) {
      const path = archivePath(root, layer, what);
      const lst = await files.stat(path);
      if (!lst || members.has(path)) continue;
      const reader = (await files.open(path)).getReader();
      const first = await reader.read();
      await reader.cancel().catch(() => {});
      const head = first.value?.slice(0, 8) ?? new Uint8Array(0);
      let digest = config.rootfs.diff_ids[i] as Digest | undefined;
      if (detectCompression(head) !== "none" || !digest) {
        const hasher = await runtime.createHasher("sha256");
        for await (const c of await files.open(path)) hasher.update(c);
        digest = `sha256:${hasher.digest()}` as Digest;
      }
      add({ path, size: lst.size, digest, head });
    }
  }
  const staging: Staging = {
    members,
    symlinks: new Map(),
    byDigest: (d) => {
      const b = blobs.get(d);
      return b ? members.get(b.path) : undefined;
    },
    bytes: (m) => Promise.resolve(m.bytes ?? new Uint8Array(0)),
    stage: () => Promise.resolve(),
    abortAll: () => Promise.resolve(),
  };
  const docker = await synthesizeDockerImages(runtime, staging, root, manifestJson, {
    what,
    maxJsonBytes: max,
  });
  return { entries: docker.entries, extras: docker.extras, blobs };
}

/**
 * The image source {@link openArchive} returns: blobs and names of the input, read in
 * place (nothing to write, lease or close), plus the list of its blobs.
 */
class ArchiveStore implements ArchiveSource {
  #files: RandomAccessFiles;
  #root?: string;
  #blobs: Map<Digest, { path: string; size: number }>;
  #extras: Map<Digest, Uint8Array>;
  #images: Map<string, ImageRecord>;
  #runtime: Runtime;

  constructor(init: {
    files: RandomAccessFiles;
    root?: string;
    blobs: Map<Digest, { path: string; size: number }>;
    extras: Map<Digest, Uint8Array>;
    images: ImageRecord[];
    runtime: Runtime;
  }) {
    this.#files = init.files;
    this.#root = init.root;
    this.#blobs = init.blobs;
    this.#extras = init.extras;
    this.#images = new Map(init.images.map((r) => [r.name, r]));
    this.#runtime = init.runtime;
  }

  async #locate(digest: Digest): Promise<{ path?: string; size: number } | undefined> {
    const { algorithm, encoded } = parseDigest(digest);
    const extra = this.#extras.get(digest);
    if (extra) return { size: extra.byteLength };
    const known = this.#blobs.get(digest);
    if (known) return known;
    if (this.#root === undefined) return undefined;
    const path = `${this.#root}blobs/${algorithm}/${encoded}`;
    const st = await this.#files.stat(path);
    return st ? { path, size: st.size } : undefined;
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.#locate(digest)) !== undefined;
  }

  async info(digest: Digest): Promise<BlobInfo> {
    const at = await this.#locate(digest);
    if (!at) throw new NotFoundError(`blob ${digest} is not in ${this.#files.label}`);
    return { digest, size: at.size };
  }

  async reader(
    digest: Digest,
    options: { offset?: number } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const offset = options.offset ?? 0;
    const at = await this.#locate(digest);
    if (!at) throw new NotFoundError(`blob ${digest} is not in ${this.#files.label}`);
    const extra = this.#extras.get(digest);
    if (extra) return new Blob([extra.slice(offset)]).stream() as ReadableStream<Uint8Array>;
    const stream = await this.#files.open(at.path!, offset);
    if (offset > 0) return stream;
    // Verified as it streams: a lying archive fails the read that meets the lie.
    return stream.pipeThrough(
      await verifyingStream(this.#runtime, {
        digest,
        size: at.size,
        what: `${this.#files.label}: ${at.path}`,
      }),
    );
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const [digest, b] of this.#extras) yield { digest, size: b.byteLength };
    for (const [digest, b] of this.#blobs) yield { digest, size: b.size };
    if (this.#root === undefined || !this.#files.paths) return;
    const prefix = `${this.#root}blobs/`;
    for (const p of this.#files.paths()) {
      if (!p.startsWith(prefix)) continue;
      const [alg, hex] = p.slice(prefix.length).split("/");
      const digest = `${alg}:${hex}` as Digest;
      try {
        parseDigest(digest);
      } catch {
        continue;
      }
      const st = await this.#files.stat(p);
      if (st) yield { digest, size: st.size };
    }
  }

  getImage(name: string): Promise<ImageRecord> {
    const r = this.#images.get(name);
    if (!r) {
      return Promise.reject(new NotFoundError(`image ${name} not found in ${this.#files.label}`));
    }
    return Promise.resolve(r);
  }

  listImages(): Promise<ImageRecord[]> {
    return Promise.resolve(
      [...this.#images.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    );
  }
}
