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
import { getRuntime } from "../runtime/mod.ts";
import type { ImageSource } from "../store/types.ts";
import { archiveParts, toTarMember } from "./members.ts";
import { planDocker } from "./plan_docker.ts";
import { planOci } from "./plan_oci.ts";
import { SUBSET_OF_ANNOTATION } from "./select.ts";
import { tarArchiveSize } from "./tar_writer.ts";
import type { ExportOptions, ExportPlan } from "./types.ts";
import { writeArchive } from "./write.ts";

export { SUBSET_OF_ANNOTATION };
export type { ArchivePart } from "./members.ts";
export type {
  ExportedImage,
  ExportFormat,
  ExportOptions,
  ExportPlan,
  WriteOptions,
} from "./types.ts";
export { blobHasher, checkCopiedBlob, checkStoredBlob } from "./write.ts";

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
