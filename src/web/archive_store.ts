// This module is browser compatible.
/**
 * "Open" without importing: an {@link ImageSource} over an archive's members (indexed
 * with {@link indexTar}) or over an OCI layout folder, opened by the importer's own opener
 * (`import/open.ts`, which the importer's folder input uses too). Names come from the
 * importer's own naming rules, docker archives get the importer's own synthesized
 * manifests, and every blob read from offset 0 is verified against its digest as it
 * streams — so the library's `resolveImage`, `listImageSummaries`, `mergeImage` and
 * `exportArchive` work on it as on any store, and a lying archive fails the read that
 * meets the lie.
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
import { NotFoundError } from "../errors.ts";
import type { NameOptions } from "../import/names.ts";
import {
  type ArchiveSource,
  directoryFiles,
  openFiles,
  type RandomAccessFiles,
} from "../import/open.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import type { ImageRecord } from "../store/types.ts";
import { indexTar, resolveTarMember, type TarIndex } from "./tar_index.ts";

export { type ArchiveSource, directoryFiles, type RandomAccessFiles };

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
  const warnings: string[] = [];
  const opened = await openFiles(files, {
    runtime: options.runtime ?? await getRuntime(),
    maxJsonBytes: options.maxJsonBytes,
    onWarning: (m) => warnings.push(m),
    names: {
      baseName: options.baseName,
      digests: options.digests ?? true,
      skipDigestForNamed: options.skipDigestForNamed ?? true,
      now: options.now,
    },
  });
  return { store: opened.source, format: opened.format, images: opened.images, warnings };
}
