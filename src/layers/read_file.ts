// This module is browser compatible.
/**
 * Reading one file of an image's merged filesystem (`cat`): the path is resolved inside
 * the image (symlinks followed, scoped to the image root, never out of it), then the
 * layer holding the bytes is streamed again up to that member.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { readImageFile } from "@lading/oci";
 * import type { ResolvedImage } from "../image.ts";
 * const image = {
 *   name: "empty",
 *   manifest: { schemaVersion: 2, config: { mediaType: "", digest: "sha256:" + "0".repeat(64), size: 0 }, layers: [] },
 *   config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } },
 * } as unknown as ResolvedImage;
 * try {
 *   await readImageFile(new MemoryStore(), image, "etc/passwd");
 * } catch (e) {
 *   console.log((e as Error).name); // NotFoundError
 * }
 * ```
 * @module
 */
import { shortDigest } from "../digest.ts";
import { iteratorStream } from "../streams.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
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

/**
 * Streams the bytes of entry `ref.entry` of layer `ref.layer`. The layer is read from its
 * start (members before it are skipped) and released when the body ends.
 */
export async function openLayerEntry(
  store: BlobProvider,
  image: ResolvedImage,
  ref: ContentRef,
  options: ReadLayersOptions & {
    /** The member's path: checked, so that an out-of-date layer index cannot give another file's bytes. */
    path?: string;
  } = {},
): Promise<ReadableStream<Uint8Array>> {
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
  if (!node) throw new NotFoundError(`${JSON.stringify(path)}: no such file in the image`);
  const inode = linkRoot(node);
  if (inode.type === "directory") {
    throw new InvalidInputError(`${JSON.stringify(path)} is a directory`);
  }
  if (!inode.content) {
    throw new InvalidInputError(
      `${JSON.stringify(path)} is a ${inode.type}, not a regular file`,
    );
  }
  return node;
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
 * const file = await readImageFile(store, await resolveImage(store, "example.com/a:1"), "/etc/motd");
 * console.log(await new Response(file.stream).text()); // hi
 * ```
 */
export async function readImageFile(
  store: BlobProvider,
  image: ResolvedImage,
  path: string,
  options: ReadLayersOptions & { fs?: MergedFilesystem } = {},
): Promise<ImageFile> {
  const fs = options.fs ??
    (await mergeImage(store, image, { ...options, trackChanges: false, trackVersions: false })).fs;
  const node = findFile(fs, path);
  const root = linkRoot(node);
  const content = root.content!;
  return {
    path: nodePath(node),
    node,
    stream: await openLayerEntry(store, image, content, {
      ...options,
      ...(options.layerIndex ? { path: nodePath(root) } : {}),
    }),
  };
}
