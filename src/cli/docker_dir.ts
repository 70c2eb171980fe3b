/**
 * An extracted `docker save` directory (manifest.json, <id>.json, <id>/layer.tar) read
 * as the tar it was extracted from, so that it imports like the archive itself. Symlinks
 * (older docker versions link repeated layers) are followed inside the directory only.
 * @module
 */
import { InvalidInputError } from "../errors.ts";
import { TAR_END, tarHeader, tarPadding } from "../export/tar_writer.ts";
import type { StreamSource } from "../import/source.ts";

/** True when `dir` looks like an extracted docker-save archive (manifest.json, no oci-layout). */
export async function isDockerSaveDirectory(dir: string): Promise<boolean> {
  const has = (p: string) => Deno.lstat(`${dir}/${p}`).then((s) => s.isFile, () => false);
  return (await has("manifest.json")) && !(await has("oci-layout"));
}

/** Every regular file under `dir` (symlinks resolved inside it), sorted, with its real path. */
async function listFiles(dir: string): Promise<{ path: string; real: string; size: number }[]> {
  const root = await Deno.realPath(dir);
  const out: { path: string; real: string; size: number }[] = [];
  const visit = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        await visit(path);
        continue;
      }
      const real = await Deno.realPath(`${root}/${path}`).catch(() => undefined);
      if (!real || !(real === root || real.startsWith(root + "/"))) {
        throw new InvalidInputError(`${dir}: ${path} points outside the directory`);
      }
      const st = await Deno.stat(real);
      if (st.isFile) out.push({ path, real, size: st.size });
    }
  };
  await visit("");
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The directory as an uncompressed tar stream. */
export async function dockerSaveDirectorySource(dir: string): Promise<StreamSource> {
  const files = await listFiles(dir);
  let i = 0;
  let file: Deno.FsFile | undefined;
  let left = 0;
  let size = TAR_END.byteLength;
  for (const f of files) size += 512 + f.size + tarPadding(f.size).byteLength;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (file) {
        const buf = new Uint8Array(Math.min(left, 1 << 20));
        const n = await file.read(buf);
        if (n === null || n === 0) {
          file.close();
          file = undefined;
          c.error(new InvalidInputError(`${dir}: a file shrank while it was read`));
          return;
        }
        left -= n;
        c.enqueue(buf.subarray(0, n));
        if (left === 0) {
          file.close();
          file = undefined;
          c.enqueue(tarPadding(files[i - 1].size));
        }
        return;
      }
      if (i >= files.length) {
        c.enqueue(TAR_END);
        c.close();
        return;
      }
      const f = files[i++];
      c.enqueue(tarHeader({ path: f.path, size: f.size }));
      if (f.size > 0) {
        file = await Deno.open(f.real);
        left = f.size;
      }
    },
    cancel() {
      file?.close();
    },
  });
  return { kind: "stream", label: dir, stream, size };
}
