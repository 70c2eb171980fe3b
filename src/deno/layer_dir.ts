/**
 * Deno only: the files of a directory as layer entries, for `appendLayer(store, image,
 * { files: directoryFiles(dir) })` and `lading append --layer DIR`. Symlinks are kept as
 * symlinks (never followed), files that share an inode become hardlinks to the first path,
 * contents are read only when the layer is written. By default owners are 0:0 and times
 * the layer's fixed `mtime`, so the same tree gives the same layer on every machine.
 *
 * @module
 */
import { InvalidInputError } from "../errors.ts";
import type { LayerFile } from "../build/layer.ts";

/** Options for {@link directoryFiles}. */
export interface DirectoryFilesOptions {
  /** Where the tree goes in the image (default `/`). */
  readonly prefix?: string;
  /** Keep the files' uid and gid (default: 0:0). */
  readonly keepOwners?: boolean;
  /** Keep the files' modification times (default: the layer's fixed `mtime`). */
  readonly keepTimes?: boolean;
}

/**
 * Every entry under `dir` (not `dir` itself), directories first in each walk, as
 * {@link LayerFile}s.
 *
 * @throws {InvalidInputError} for a device, socket or fifo (layers built here hold files,
 * directories and links only).
 * @example
 * ```ts
 * import { appendLayer, emptyImage, MemoryStore } from "@lading/oci";
 * import { directoryFiles } from "@lading/oci/fs";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hi\n");
 * const store = new MemoryStore();
 * const image = await appendLayer(store, emptyImage(), { files: directoryFiles(dir) });
 * console.log(image.layers.length); // 1
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function* directoryFiles(
  dir: string,
  options: DirectoryFilesOptions = {},
): AsyncGenerator<LayerFile> {
  const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const inodes = new Map<string, string>();
  async function* walk(rel: string): AsyncGenerator<LayerFile> {
    const names: string[] = [];
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) names.push(e.name);
    names.sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const full = `${dir}/${path}`;
      const st = await Deno.lstat(full);
      const inImage = prefix ? `${prefix}/${path}` : path;
      const common = {
        path: inImage,
        mode: (st.mode ?? 0o644) & 0o7777,
        ...(options.keepOwners ? { uid: st.uid ?? 0, gid: st.gid ?? 0 } : {}),
        ...(options.keepTimes && st.mtime ? { mtime: Math.floor(st.mtime.getTime() / 1000) } : {}),
      };
      if (st.isSymlink) {
        yield { ...common, type: "symlink", linkname: await Deno.readLink(full) };
      } else if (st.isDirectory) {
        yield { ...common, type: "directory" };
        yield* walk(path);
      } else if (st.isFile) {
        const key = st.nlink && st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
        const first = key ? inodes.get(key) : undefined;
        if (first) {
          yield { ...common, type: "hardlink", linkname: first };
          continue;
        }
        if (key) inodes.set(key, inImage);
        const size = st.size;
        yield {
          ...common,
          content: {
            size,
            open: async () => (await Deno.open(full, { read: true })).readable,
          },
        };
      } else {
        throw new InvalidInputError(
          `cannot add ${full} to a layer: only files, directories and symlinks can be added`,
        );
      }
    }
  }
  if (prefix) {
    const parts = prefix.split("/");
    for (let i = 1; i <= parts.length; i++) {
      yield { path: parts.slice(0, i).join("/"), type: "directory", mode: 0o755 };
    }
  }
  yield* walk("");
}
