// This module is browser compatible.
/**
 * The files of an image as a container would see them: every layer applied, whiteouts
 * honoured, diff_ids verified on the way — in one call.
 *
 * @module
 */
import { resolveImage } from "../image.ts";
import type { LayerEntryType } from "../tar.ts";
import type { ImageSource } from "../store/types.ts";
import type { Platform } from "../types.ts";
import { mergeImage } from "./image_layers.ts";

/** One path of an image's merged filesystem. */
export interface ImageFileEntry {
  /** Path without a leading `/` (`etc/os-release`). */
  readonly path: string;
  /** `file`, `directory`, `symlink`, `hardlink`, devices, `fifo`. */
  readonly type: LayerEntryType;
  /** Bytes of a file (a hardlink reports its target's). */
  readonly size: number;
  /** Permission bits with setuid/setgid/sticky. */
  readonly mode: number;
  /** Owner id. */
  readonly uid: number;
  /** Group id. */
  readonly gid: number;
  /** Symlink target, or the path a hardlink names. */
  readonly linkname?: string;
  /** The layer (base first, from 0) that last wrote the path. */
  readonly layer: number;
}

/**
 * Every path of an image's merged filesystem, sorted depth first (`dive`'s tree, `crane
 * export | tar t`). Reads each layer once; a layer that does not match its diff_id fails.
 *
 * @example
 * ```ts
 * import { appendLayer, emptyImage, listImageFiles, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * const image = await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] });
 * await writeImage(store, image, { name: "example.com/motd:1" });
 * for (const f of await listImageFiles(store, "example.com/motd:1")) console.log(f.type, f.path);
 * // directory etc
 * // file etc/motd
 * ```
 */
export async function listImageFiles(
  store: ImageSource,
  name: string,
  options: { readonly platform?: Platform } = {},
): Promise<ImageFileEntry[]> {
  const image = await resolveImage(store, name, options);
  const { fs } = await mergeImage(store, image, { trackChanges: false, trackVersions: false });
  const out: ImageFileEntry[] = [];
  for (const { path, node } of fs.walk()) {
    out.push({
      path,
      type: node.type,
      size: node.type === "directory" ? 0 : node.size,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      ...(node.linkname ? { linkname: node.linkname } : {}),
      layer: node.layer,
    });
  }
  return out;
}
