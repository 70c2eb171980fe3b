/**
 * Deno edge: turns a command-line input (a path to a directory or file, or `-` for
 * stdin) into an {@link ImportSource}. Directory reads never follow a symlink out of the
 * layout.
 *
 * @example
 * ```ts
 * import { sourceFromPath } from "./fs_source.ts";
 * const dir = await Deno.makeTempDir();
 * const source = await sourceFromPath(dir);
 * console.log(source.kind); // directory
 * ```
 * @module
 */
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { iteratorStream, largeChunks } from "../streams.ts";
import type { DirectorySource, ImportSource } from "../import/source.ts";

/**
 * A file's bytes in 1 MiB chunks read into a ring of 6 reused buffers, the next read
 * running while the current chunk is hashed: a third of the cost of the default 64 KiB
 * chunks, with flat memory. A chunk stays valid for 4 more chunks. Safe for the importer, whose
 * consumers copy whatever they keep longer than the next few reads: the tar reader keeps
 * a view of the previous chunk at most, staging lets at most 2 store writes run behind
 * the reads, hashers and the zlib adapter copy or consume at once.
 */
export function fileChunks(file: Deno.FsFile): ReadableStream<Uint8Array> {
  return iteratorStream(largeChunks(file.readable, { buffers: 6, readAhead: 1 }));
}

/** An OCI layout directory on disk as a {@link DirectorySource}. */
export async function directorySource(dir: string): Promise<DirectorySource> {
  const root = await Deno.realPath(dir);
  const resolve = async (path: string): Promise<string | undefined> => {
    if (path.split("/").some((p) => p === "..") || path.startsWith("/")) {
      throw new InvalidInputError(`${dir}: path ${JSON.stringify(path)} leaves the layout`);
    }
    let real: string;
    try {
      real = await Deno.realPath(`${root}/${path}`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    if (real !== root && !real.startsWith(root + "/")) {
      throw new InvalidInputError(`${dir}: ${path} is a symlink that leaves the layout`);
    }
    return real;
  };
  return {
    kind: "directory",
    label: dir,
    async stat(path) {
      const real = await resolve(path);
      if (!real) return undefined;
      const st = await Deno.stat(real);
      if (!st.isFile) return undefined;
      return { size: st.size };
    },
    async open(path) {
      const real = await resolve(path);
      if (!real) throw new NotFoundError(`${dir}: ${path} not found`);
      return fileChunks(await Deno.open(real));
    },
  };
}

/** A path (directory or archive file) or `-` (stdin) as an import source. */
export async function sourceFromPath(
  path: string,
  stdin?: ReadableStream<Uint8Array>,
): Promise<ImportSource> {
  if (path === "-") {
    return { kind: "stream", label: "stdin", stream: stdin ?? Deno.stdin.readable };
  }
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new NotFoundError(`${path}: no such file or directory`);
    }
    throw e;
  }
  if (st.isDirectory) return directorySource(path);
  const file = await Deno.open(path);
  return { kind: "stream", label: path, stream: fileChunks(file), size: st.size };
}
