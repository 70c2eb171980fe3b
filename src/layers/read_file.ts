// This module is browser compatible.
/**
 * Reading one file of an image's merged filesystem (`cat`): the path is resolved inside
 * the image (symlinks followed, scoped to the image root, never out of it), then the
 * layer holding the bytes is streamed again up to that member.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore, NotFoundError, readImageFile, resolveImage, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const draft = await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] });
 * await writeImage(store, draft, { name: "example.com/a:1" });
 * const image = await resolveImage(store, "example.com/a:1");
 * try {
 *   await readImageFile(store, image, { path: "etc/passwd" });
 * } catch (e) {
 *   console.log(e instanceof NotFoundError); // true
 * }
 * ```
 * @module
 */
import { shortDigest } from "../digest.ts";
import { iteratorStream } from "../streams.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { expectRegularFile } from "./resolve.ts";
import type { ResolvedImage } from "../image.ts";
import type { BlobProvider } from "../store/types.ts";
import { mergeImage, type ReadLayersOptions } from "./image_layers.ts";
import { openLayer } from "./layer_reader.ts";
import {
  type ContentRef,
  type FsNode,
  linkRoot,
  type MergedFilesystem,
  nodePath,
} from "./merged_fs.ts";

/** A file found in the merged filesystem, with its bytes as a stream. */
export interface ImageFile {
  /** The resolved path (after following symlinks). */
  readonly path: string;
  /** The node. */
  readonly node: FsNode;
  /** The bytes. Cancel it when not read to the end. */
  readonly stream: ReadableStream<Uint8Array>;
}

/** Options of {@link openLayerEntry}: which member of which layer, and how to read it. */
export interface OpenLayerEntryOptions extends ReadLayersOptions, ContentRef {
  /** The member's path: checked, so that an out-of-date layer index cannot give another file's bytes. */
  readonly path?: string;
}

/**
 * Streams the bytes of entry `options.entry` of layer `options.layer` (a node's
 * {@link ContentRef}, as the merged filesystem records it). The layer is read from its
 * start (members before it are skipped) and released when the body ends.
 *
 * @throws {NotFoundError} when the image has no such layer or member; {InvalidInputError}
 * when `path` is given and the member has another path.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, mergeImage, MemoryStore, resolveImage, writeImage } from "@lading/oci";
 * import { openLayerEntry } from "@lading/oci/layers";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const image = await resolveImage(store, "example.com/a:1");
 * const { fs } = await mergeImage(store, image);
 * const node = fs.lookup("etc/motd")!;
 * const stream = await openLayerEntry(store, image, { ...node.content!, path: "etc/motd" });
 * console.log(node.content, await new Response(stream).text()); // { layer: 0, entry: 1 } hi
 * ```
 */
export async function openLayerEntry(
  store: BlobProvider,
  image: ResolvedImage,
  options: OpenLayerEntryOptions,
): Promise<ReadableStream<Uint8Array>> {
  const ref: ContentRef = { layer: options.layer, entry: options.entry };
  const d = image.manifest.layers[ref.layer];
  if (!d) throw new NotFoundError(`image ${image.name} has no layer ${ref.layer}`);
  const layer = await openLayer(await store.reader(d.digest), {
    mediaType: d.mediaType,
    what: `layer ${ref.layer} ${shortDigest(d.digest)}`,
    runtime: options.runtime,
    maxLayerBytes: options.maxLayerBytes,
    hash: false,
  });
  for (let e = await layer.next(); e; e = await layer.next()) {
    if (e.index !== ref.entry) continue;
    if (options.path !== undefined && e.path !== options.path) {
      await layer.cancel();
      throw new InvalidInputError(
        `layer ${ref.layer} of image ${image.name}: member ${ref.entry} is ${
          JSON.stringify(e.path)
        }, not ${JSON.stringify(options.path)} (an out-of-date layer index?)`,
      );
    }
    return iteratorStream(e.chunks(), (reason) => layer.cancel(reason));
  }
  throw new NotFoundError(
    `layer ${ref.layer} of image ${image.name} has no member number ${ref.entry}`,
  );
}

/**
 * Finds a regular file in a merged filesystem, following symlinks within the image.
 *
 * @example
 * ```ts
 * import { appendLayer, mergeImage, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const { fs } = await mergeImage(store, await resolveImage(store, "example.com/a:1"));
 * import { findFile } from "@lading/oci/layers";
 * console.log(findFile(fs, "/etc/motd").size); // 2
 * ```
 */
export function findFile(fs: MergedFilesystem, path: string): FsNode {
  const node = fs.lookup(path, { follow: true });
  expectRegularFile(path, node && linkRoot(node));
  return node!;
}

/** Options of {@link readImageFile}. */
export interface ReadImageFileOptions extends ReadLayersOptions {
  /** The file's path in the image (`/etc/motd` or `etc/motd`); symlinks are followed inside the image. */
  readonly path: string;
  /** The image's merged view, when it was built already (else every layer is read once to build it). */
  readonly fs?: MergedFilesystem;
}

/**
 * Opens a file of the image's merged filesystem. Pass `fs` when the merged view was built
 * already; otherwise every layer is read once to build it.
 *
 * @throws {NotFoundError} when the path does not exist; {InvalidInputError} when it is not a
 * regular file (or a symlink to one inside the image).
 *
 * @example
 * ```ts
 * import { appendLayer, readImageFile, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const file = await readImageFile(store, await resolveImage(store, "example.com/a:1"), { path: "/etc/motd" });
 * console.log(await new Response(file.stream).text()); // hi
 * ```
 */
export async function readImageFile(
  store: BlobProvider,
  image: ResolvedImage,
  options: ReadImageFileOptions,
): Promise<ImageFile> {
  const { path: wanted, fs: given, ...read } = options;
  const fs = given ??
    (await mergeImage(store, image, { ...read, trackChanges: false, trackVersions: false })).fs;
  const node = findFile(fs, wanted);
  const root = linkRoot(node);
  return {
    path: nodePath(node),
    node,
    stream: await openLayerEntry(store, image, {
      ...read,
      ...root.content!,
      ...(read.layerIndex ? { path: nodePath(root) } : {}),
    }),
  };
}
