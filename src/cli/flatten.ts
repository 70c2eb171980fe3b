/**
 * `lading flatten <name> -o rootfs.tar`: the merged filesystem of an image as one tar
 * stream (like `crane export`): whiteouts applied, each path once, with its final
 * metadata. Directories, symlinks and other entries come first (parents before
 * children), then regular files layer by layer (each layer blob read once, the bytes
 * straight from the verified blob), then hardlinks.
 * @module
 */
import { shortDigest } from "../digest.ts";
import { AlreadyExistsError, InvalidInputError } from "../errors.ts";
import { TAR_END, tarHeader, type TarMember, tarPadding } from "../export/tar_writer.ts";
import { mergeImage } from "../layers/image_layers.ts";
import { openStoreLayer } from "../layers/layer_reader.ts";
import { type FsNode, linkRoot, nodePath } from "../layers/merged_fs.ts";
import {
  atInterrupt,
  type CliIO,
  type Command,
  count,
  formatBytes,
  OUTPUT_FLAG,
  parseCommand,
  refuseTerminal,
  UsageError,
} from "./common.ts";
import { outputKind, writeFileAtomically } from "../deno/export_file.ts";
import { LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

function member(path: string, n: FsNode): TarMember | undefined {
  const base = { mode: n.mode, uid: n.uid, gid: n.gid, mtime: Math.max(0, Math.floor(n.mtime)) };
  if (n.type === "directory") return { ...base, path: `${path}/`, size: 0, type: "directory" };
  if (n.type === "symlink") {
    return { ...base, path, size: 0, type: "symlink", linkname: n.linkname };
  }
  if (n.type === "file") return { ...base, path, size: n.size, type: "file" };
  return undefined;
}

/** `flatten`. */
export const flattenCommand: Command = {
  path: ["flatten"],
  summary: "write an image's merged filesystem as one tar (like crane export)",
  args: "<name>",
  details: "Whiteouts are applied and every path appears once, with its final contents and\n" +
    "metadata. Device nodes and fifos are left out (reported on stderr); xattrs are not\n" +
    "written. Without -o (or with -o -) the tar goes to stdout, which must not be a\n" +
    "terminal; a file is written under a temporary name and renamed when complete.",
  flags: [
    OUTPUT_FLAG,
    { name: "force", help: "replace FILE when it exists" },
    ...LAYER_FLAGS,
  ],
  examples: [
    "lading flatten busybox -o rootfs.tar",
    "lading flatten example.com/app:1 | tar -t | head",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, flattenCommand);
    if (f.positionals.length !== 1) throw new UsageError("flatten takes one image name");
    const output = (f.values.output as string | undefined) ?? "-";
    if (output === "") throw new UsageError("-o needs a file name (or - for stdout)");
    if (output === "-") refuseTerminal(io, "a tar archive");
    else if (!f.values.force && (await outputKind(output)) === "file") {
      throw new AlreadyExistsError(`Cannot write ${output}: it exists; use --force to replace it`);
    }
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const opts = readOptions(f.values, io, { index: true });
      const { fs } = await mergeImage(store, image, {
        ...opts,
        trackChanges: false,
        trackVersions: false,
      });
      const skipped: string[] = [];
      const first: Uint8Array[] = [];
      const links: TarMember[] = [];
      // layer → member number → the paths whose bytes it holds
      const wanted = new Map<number, Map<number, { path: string; node: FsNode }>>();
      let files = 0;
      for (const { path, node } of fs.walk()) {
        if (node.type === "hardlink") {
          const root = linkRoot(node);
          const m = member(path, node);
          links.push({
            ...(m ?? { path, size: 0 }),
            mode: node.mode,
            uid: node.uid,
            gid: node.gid,
            path,
            size: 0,
            type: "hardlink",
            linkname: nodePath(root),
          });
          continue;
        }
        const m = member(path, node);
        if (!m) {
          skipped.push(`${path} (${node.type})`);
          continue;
        }
        if (m.type !== "file") {
          first.push(tarHeader(m));
          continue;
        }
        files++;
        const c = node.content!;
        let byEntry = wanted.get(c.layer);
        if (!byEntry) wanted.set(c.layer, byEntry = new Map());
        byEntry.set(c.entry, { path, node });
      }
      let written = 0;
      // Pulled: a layer is read only as fast as the output takes the bytes.
      const chunks = async function* (): AsyncGenerator<Uint8Array> {
        for (const h of first) yield h;
        for (const i of [...wanted.keys()].sort((a, b) => a - b)) {
          const byEntry = wanted.get(i)!;
          const d = image.manifest.layers[i];
          const layer = await openStoreLayer(store, d, {
            ...opts,
            what: `layer ${i} ${shortDigest(d.digest)}`,
            hash: false,
          });
          try {
            let left = byEntry.size;
            for (let e = await layer.next(); e && left > 0; e = await layer.next()) {
              const hit = byEntry.get(e.index);
              if (!hit) continue;
              if (e.path !== hit.path) {
                throw new InvalidInputError(
                  `layer ${i}: member ${e.index} is ${e.path}, not ${hit.path} (an out-of-date layer index?)`,
                );
              }
              left--;
              yield tarHeader(member(hit.path, hit.node)!);
              let n = 0;
              for await (const chunk of e.chunks()) {
                n += chunk.byteLength;
                yield chunk.slice();
              }
              if (n !== hit.node.size) {
                throw new InvalidInputError(
                  `${hit.path}: ${n} bytes in layer ${i}, the index says ${hit.node.size}`,
                );
              }
              yield tarPadding(n);
              written += n;
            }
          } finally {
            await layer.cancel().catch(() => {});
          }
        }
        for (const l of links) yield tarHeader(l);
        yield TAR_END;
      };
      const stream = ReadableStream.from(chunks());
      if (output === "-") {
        await stream.pipeTo(io.stdout, { preventClose: true });
      } else {
        await writeFileAtomically(output, async (file) => {
          await stream.pipeTo(file.writable);
        }, { force: !!f.values.force, atInterrupt });
      }
      for (const s of skipped) io.err(`lading: left out ${s}\n`);
      if (!f.values.quiet && output !== "-") {
        io.err(
          `flattened ${image.name}: ${count(files, "file")} (${formatBytes(written)}), ${
            count(links.length, "hardlink")
          } to ${output}\n`,
        );
      }
      return 0;
    });
  },
};
