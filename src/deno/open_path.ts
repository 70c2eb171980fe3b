/**
 * Deno only: the short calls on paths — import a file or layout directory, open one
 * read-only without copying it, and verify a layout directory entry by entry.
 *
 * @module
 */
import { checkImages, type CheckOptions, type ImageCheck } from "../check.ts";
import {
  importImages,
  type ImportOptions,
  type ImportResult,
  type ImportTarget,
} from "../import/mod.ts";
import type { Digest } from "../digest.ts";
import { indexTar } from "../web/tar_index.ts";
import {
  type ArchiveView,
  directoryFiles,
  openArchive,
  type OpenArchiveOptions,
  tarFiles,
} from "../web/archive_store.ts";
import { directorySource, sourceFromPath } from "./fs_source.ts";

/**
 * Imports an archive file (oci-archive or docker-archive; plain, gzip or zstd) or an OCI
 * layout directory at `path` into `store`, all or nothing.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { importFile } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
 * await Deno.writeTextFile(`${dir}/index.json`, '{"schemaVersion":2,"manifests":[]}');
 * const result = await importFile(new MemoryStore(), dir);
 * console.log(result.format, result.images.length); // oci-layout 0
 * ```
 */
export async function importFile(
  store: ImportTarget,
  path: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  return await importImages(store, await sourceFromPath(path), options);
}

/** A read-only `Blob` look-alike over a file: every read opens, seeks and reads. */
class FileSlice {
  readonly #path: string;
  readonly #start: number;
  readonly size: number;
  constructor(path: string, start: number, size: number) {
    this.#path = path;
    this.#start = start;
    this.size = size;
  }
  slice(start = 0, end = this.size): FileSlice {
    const s = Math.max(0, Math.min(start, this.size));
    const e = Math.max(s, Math.min(end, this.size));
    return new FileSlice(this.#path, this.#start + s, e - s);
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const out = new Uint8Array(this.size);
    using file = await Deno.open(this.#path);
    await file.seek(this.#start, Deno.SeekMode.Start);
    let at = 0;
    while (at < out.byteLength) {
      const n = await file.read(out.subarray(at));
      if (n === null) break;
      at += n;
    }
    return out.buffer;
  }
  stream(): ReadableStream<Uint8Array> {
    let file: Deno.FsFile | undefined;
    let left = this.size;
    return new ReadableStream<Uint8Array>({
      start: async () => {
        file = await Deno.open(this.#path);
        await file.seek(this.#start, Deno.SeekMode.Start);
      },
      pull: async (controller) => {
        if (left <= 0) {
          file?.close();
          return controller.close();
        }
        const buffer = new Uint8Array(Math.min(left, 1024 * 1024));
        const n = await file!.read(buffer);
        if (n === null) {
          file?.close();
          return controller.close();
        }
        left -= n;
        controller.enqueue(buffer.subarray(0, n));
      },
      cancel: () => file?.close(),
    }, { highWaterMark: 0 });
  }
}

/**
 * Opens an archive file (uncompressed oci-archive or docker-archive) or an OCI layout
 * directory read-only, without copying it: `store` reads blobs in place, verifying each
 * as it streams; `images` lists every entry (unnamed ones as `<base>@<digest>`).
 *
 * @example
 * ```ts
 * import { listImageSummaries } from "@lading/oci";
 * import { openArchivePath } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
 * await Deno.writeTextFile(`${dir}/index.json`, '{"schemaVersion":2,"manifests":[]}');
 * const view = await openArchivePath(dir);
 * console.log(view.format, (await listImageSummaries(view.store)).length); // oci-layout 0
 * ```
 */
export async function openArchivePath(
  path: string,
  options: OpenArchiveOptions = {},
): Promise<ArchiveView> {
  const st = await Deno.stat(path);
  if (st.isDirectory) {
    return await openArchive(directoryFiles(await directorySource(path)), options);
  }
  const blob = new FileSlice(path, 0, st.size) as unknown as Blob;
  return await openArchive(tarFiles(await indexTar(blob, { what: path }), path), options);
}

/** One entry of a layout or archive and what {@link checkLayout} found. */
export interface LayoutEntryCheck extends ImageCheck {
  /** The entry's name in the layout, or undefined when it has none. */
  readonly refName?: string;
}

/**
 * Verifies an OCI layout directory (or an uncompressed archive) in place, every entry of
 * its index named or not: each blob it reaches is present, has its size and hashes to
 * its digest. Nothing is written. `ok` on every entry means the layout is sound.
 *
 * @example
 * ```ts
 * import { checkLayout } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
 * await Deno.writeTextFile(`${dir}/index.json`, '{"schemaVersion":2,"manifests":[]}');
 * console.log((await checkLayout(dir)).length); // 0
 * ```
 */
export async function checkLayout(
  path: string,
  options: CheckOptions = {},
): Promise<LayoutEntryCheck[]> {
  const view = await openArchivePath(path, {
    digests: true,
    skipDigestForNamed: true,
    baseName: "unnamed",
  });
  const checks = await checkImages(view.store, view.images, options);
  return checks.map((c) => ({
    ...c,
    ...(view.images.find((r) => r.name === c.name && !isDigestName(r.name, c.digest))
      ? { refName: c.name }
      : {}),
  }));
}

function isDigestName(name: string, digest: Digest): boolean {
  return name.endsWith(`@${digest}`);
}
