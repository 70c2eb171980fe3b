// This module is browser compatible.
/**
 * Layers built deterministically and written straight into a store: from in-memory
 * entries (`files`) or from a tar stream (`tar`, any compression). Entries are sorted by
 * path, owned by 0:0 unless they say otherwise, dated `mtime` (default 0, the epoch), and
 * compressed with fflate's gzip (plain JavaScript, header time 0: the same bytes in Deno,
 * Node and browsers) or zstd where the runtime has an encoder (Deno, Node ≥ 22.15). The
 * same input always gives the same digest. The layer tar is hashed (diff_id) and the
 * compressed blob hashed and stored in one streaming pass; nothing is held whole.
 *
 * @module
 */
import type { Digest } from "../digest.ts";
import { decompress } from "../compression.ts";
import { InvalidInputError } from "../errors.ts";
import * as mt from "../media_types.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Hasher, Runtime } from "../runtime/types.ts";
import { fflateGzip } from "../runtime/web.ts";
import type { BlobIngester } from "../store/types.ts";
import type { Descriptor } from "../types.ts";
import { TAR_END, tarHeader, type TarMember, tarPadding } from "../export/tar_writer.ts";

/** File contents that are opened only when the layer is written (large files, disk files). */
export interface FileContent {
  /** Exact size in bytes; a stream that delivers another count fails the layer. */
  readonly size: number;
  /** Opens the bytes. */
  open(): Promise<ReadableStream<Uint8Array>>;
}

/** One entry of a layer built from files. */
export interface LayerFile {
  /** Path in the image, `/`-separated (`etc/hosts`, `/etc/hosts` and `./etc/hosts` are the same). */
  readonly path: string;
  /** `file` (default), `directory`, `symlink` or `hardlink`. */
  readonly type?: "file" | "directory" | "symlink" | "hardlink";
  /** A file's bytes: text (UTF-8), bytes, a `Blob`, or contents opened when written. */
  readonly content?: string | Uint8Array | Blob | FileContent;
  /** Target of a symlink (any text) or hardlink (a path in the layer). */
  readonly linkname?: string;
  /** Permission bits, setuid/setgid/sticky included (default 0o644, 0o755 for directories). */
  readonly mode?: number;
  /** Owner id (default 0). */
  readonly uid?: number;
  /** Group id (default 0). */
  readonly gid?: number;
  /** Modification time in seconds; default the layer's `mtime`. */
  readonly mtime?: number;
}

/** What a layer is made from (with {@link LayerOptions}, the argument of {@link writeLayer}). */
export type LayerInput =
  | { readonly files: Iterable<LayerFile> | AsyncIterable<LayerFile> }
  | { readonly tar: ReadableStream<Uint8Array> | Uint8Array | Blob };

/** How a layer is written. */
export interface LayerOptions {
  /** `gzip` (default), `zstd` or `none`. */
  readonly compression?: "gzip" | "zstd" | "none";
  /** Compression level (gzip 1-9, default 6; zstd 1-19, default 3). */
  readonly level?: number;
  /** Modification time, in seconds since 1970, of entries that give none (default 0). */
  readonly mtime?: number;
  /** Docker media types instead of OCI (zstd has none). */
  readonly docker?: boolean;
  /** Hashing and compression (default {@link getRuntime}). */
  readonly runtime?: Runtime;
}

/** A layer written into a store. */
export interface WrittenLayer {
  /** The compressed blob's descriptor. */
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  readonly diffId: Digest;
}

const enc = new TextEncoder();

/** `etc/hosts` from `/etc/hosts`, `./etc/hosts`, `etc//hosts/`; refuses `..` and empty paths. */
function cleanPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) {
    throw new TypeError(`layer path ${JSON.stringify(path)} is not allowed`);
  }
  return parts.join("/");
}

interface PlannedEntry {
  readonly member: TarMember;
  readonly content?: LayerFile["content"];
}

/** The entries, cleaned, checked for duplicates and sorted by path (byte order). */
async function plan(
  files: Iterable<LayerFile> | AsyncIterable<LayerFile>,
  mtime: number,
): Promise<PlannedEntry[]> {
  const seen = new Map<string, PlannedEntry>();
  for await (const f of files) {
    const type = f.type ?? "file";
    const clean = cleanPath(f.path);
    if (seen.has(clean)) throw new TypeError(`layer path ${clean} is given twice`);
    const content = type === "file" ? f.content ?? new Uint8Array(0) : undefined;
    const size = content === undefined
      ? 0
      : typeof content === "string"
      ? enc.encode(content).byteLength
      : content instanceof Uint8Array
      ? content.byteLength
      : content.size;
    const linkname = type === "hardlink" && f.linkname ? cleanPath(f.linkname) : f.linkname;
    seen.set(clean, {
      member: {
        path: type === "directory" ? `${clean}/` : clean,
        size,
        type,
        linkname,
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
        mtime: f.mtime ?? mtime,
      },
      content,
    });
  }
  const key = (p: string) => enc.encode(p.replace(/\/$/, ""));
  const sorted = [...seen.values()].sort((a, b) =>
    compareBytes(key(a.member.path), key(b.member.path))
  );
  return linksAfterTargets(sorted, seen);
}

/**
 * A tar reader needs a hardlink's target before the link: when the sorted order puts a
 * link before its file, the first path of the group carries the file and the others link
 * to it.
 */
function linksAfterTargets(
  sorted: PlannedEntry[],
  byPath: Map<string, PlannedEntry>,
): PlannedEntry[] {
  const position = new Map(sorted.map((e, i) => [e.member.path, i]));
  const groups = new Map<string, number[]>();
  for (let i = 0; i < sorted.length; i++) {
    const m = sorted[i].member;
    if (m.type !== "hardlink") continue;
    const target = byPath.get(m.linkname!);
    if (!target || target.member.type !== "file") {
      throw new TypeError(`hardlink ${m.path}: target ${m.linkname} is not a file in the layer`);
    }
    const list = groups.get(target.member.path) ?? [position.get(target.member.path)!];
    list.push(i);
    groups.set(target.member.path, list);
  }
  const out = [...sorted];
  for (const members of groups.values()) {
    members.sort((a, b) => a - b);
    const file = byPath.get(
      sorted.find((_, i) => members.includes(i) && sorted[i].member.type === "file")!.member.path,
    )!;
    const first = sorted[members[0]];
    out[members[0]] = {
      member: { ...file.member, path: first.member.path },
      content: file.content,
    };
    for (const i of members.slice(1)) {
      out[i] = {
        member: { ...sorted[i].member, type: "hardlink", size: 0, linkname: first.member.path },
      };
    }
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.byteLength - b.byteLength;
}

async function openContent(
  content: NonNullable<LayerFile["content"]>,
): Promise<ReadableStream<Uint8Array>> {
  if (typeof content === "string") return new Blob([enc.encode(content)]).stream();
  if (content instanceof Uint8Array) return new Blob([content as BlobPart]).stream();
  if (content instanceof Blob) return content.stream();
  return await content.open();
}

/** The uncompressed tar of these entries, streamed. */
function tarStream(entries: readonly PlannedEntry[]): ReadableStream<Uint8Array> {
  async function* members(): AsyncGenerator<Uint8Array> {
    for (const e of entries) {
      yield tarHeader(e.member);
      if (e.content === undefined) continue;
      let count = 0;
      for await (const chunk of await openContent(e.content)) {
        count += chunk.byteLength;
        if (count > e.member.size) break;
        yield chunk;
      }
      if (count !== e.member.size) {
        throw new InvalidInputError(
          `layer file ${e.member.path}: ${count} bytes read, ${e.member.size} expected (changed while read?)`,
        );
      }
      yield tarPadding(e.member.size);
    }
    yield TAR_END;
  }
  const it = members();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const next = await it.next();
        if (next.done) return controller.close();
        if (next.value.byteLength) return controller.enqueue(next.value);
      }
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}

/** A pass-through that counts and sha256-hashes what flows through it. */
interface Tap {
  readonly stream: TransformStream<Uint8Array, Uint8Array>;
  size(): number;
  digest(): Digest;
}

function tap(hasher: Hasher): Tap {
  let size = 0;
  return {
    stream: new TransformStream({
      transform(chunk, controller) {
        hasher.update(chunk);
        size += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }),
    size: () => size,
    digest: () => `sha256:${hasher.digest()}` as Digest,
  };
}

/** The media type of a layer with this compression. */
function layerMediaType(compression: "gzip" | "zstd" | "none", docker: boolean): string {
  if (docker) {
    if (compression === "zstd") {
      throw new TypeError("zstd layers have no Docker media type; use OCI media types");
    }
    return compression === "gzip" ? mt.DOCKER_LAYER_GZIP : mt.DOCKER_LAYER;
  }
  return compression === "gzip"
    ? mt.OCI_LAYER_GZIP
    : compression === "zstd"
    ? mt.OCI_LAYER_ZSTD
    : mt.OCI_LAYER;
}

/**
 * Builds a layer and writes it into `store`: verified like any other blob, visible only
 * once complete. Returns its descriptor and diff_id; add it to an image with
 * {@link appendLayer} (which calls this) or keep it for later.
 *
 * @example
 * ```ts
 * import { MemoryStore, writeLayer } from "@lading/oci";
 * const store = new MemoryStore();
 * const layer = await writeLayer(store, { files: [{ path: "hello.txt", content: "hi\n" }] });
 * console.log(layer.descriptor.mediaType); // application/vnd.oci.image.layer.v1.tar+gzip
 * ```
 */
export async function writeLayer(
  store: BlobIngester,
  layer: LayerInput & LayerOptions,
): Promise<WrittenLayer> {
  const input = layer;
  const options: LayerOptions = layer;
  const runtime = options.runtime ?? await getRuntime();
  const compression = options.compression ?? "gzip";
  const mediaType = layerMediaType(compression, options.docker ?? false);
  let tar: ReadableStream<Uint8Array>;
  if ("files" in input) {
    tar = tarStream(await plan(input.files, options.mtime ?? 0));
  } else {
    const raw = input.tar instanceof ReadableStream
      ? input.tar
      : input.tar instanceof Blob
      ? input.tar.stream()
      : new Blob([input.tar as BlobPart]).stream();
    tar = (await decompress(runtime, raw)).stream;
  }
  const diff = tap(await runtime.createHasher("sha256"));
  const blob = tap(await runtime.createHasher("sha256"));
  let compressed = tar.pipeThrough(diff.stream);
  if (compression === "gzip") compressed = compressed.pipeThrough(fflateGzip(options.level ?? 6));
  else if (compression === "zstd") {
    if (!runtime.zstd) {
      await compressed.cancel();
      throw new TypeError(
        `the ${runtime.name} runtime has no zstd encoder; use gzip (zstd needs Deno or Node ≥ 22.15)`,
      );
    }
    compressed = compressed.pipeThrough(runtime.zstd(options.level ?? 3));
  }
  const writer = await store.writer();
  try {
    for await (const chunk of compressed.pipeThrough(blob.stream)) await writer.write(chunk);
    const digest = blob.digest();
    await writer.commit({ digest, size: blob.size(), what: "layer" });
    return { descriptor: { mediaType, digest, size: blob.size() }, diffId: diff.digest() };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
