/**
 * `lading unpack <name> <DIR>`: the merged root filesystem written to DIR, safely (see
 * `src/deno/unpack_fs.ts`).
 * @module
 */
import { unpackImage } from "../deno/unpack_fs.ts";
import {
  type CliIO,
  type Command,
  count,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  UsageError,
} from "./common.ts";
import { LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

/** `unpack`. */
export const unpackCommand: Command = {
  path: ["unpack"],
  summary: "write an image's merged root filesystem to a new directory, safely",
  args: "<name> <DIR>",
  details: "DIR must not exist or be empty. Paths never escape DIR (symlinks are resolved\n" +
    "inside it); a failure removes what was written.",
  flags: [
    ...LAYER_FLAGS,
    { name: "preserve-devices", help: "create device nodes (needs root; default: skip them)" },
    { name: "preserve-setuid", help: "keep setuid/setgid bits and file capabilities (as root)" },
    JSON_FLAG,
  ],
  examples: [
    "lading unpack busybox ./rootfs",
    "sudo lading unpack --preserve-devices debian:12 /srv/rootfs",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, unpackCommand);
    if (f.positionals.length !== 2) {
      throw new UsageError("unpack takes an image name and a directory");
    }
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const r = await unpackImage(store, image, {
        ...readOptions(f.values, io),
        dir: f.positionals[1],
        preserveDevices: !!f.values["preserve-devices"],
        preserveSetuid: !!f.values["preserve-setuid"],
      });
      if (f.values.json) {
        io.out(json({
          name: image.name,
          directory: f.positionals[1],
          files: r.files,
          directories: r.directories,
          symlinks: r.symlinks,
          hardlinks: r.hardlinks,
          bytes: r.bytes,
          skipped: r.skipped,
          strippedSetuid: r.strippedSetuid,
          xattrs: r.xattrs,
          duplicates: r.duplicates,
          layers: r.layers.map((l) => ({
            digest: l.descriptor.digest,
            diffId: l.diffId,
            verified: l.verified,
          })),
        }));
        return 0;
      }
      for (const s of r.skipped) io.err(`lading: skipped ${s.path}: ${s.reason}\n`);
      if (r.strippedSetuid.length) {
        io.err(
          `lading: removed setuid/setgid bits from ${
            count(r.strippedSetuid.length, "file")
          } (--preserve-setuid as root keeps them)\n`,
        );
      }
      for (const d of r.duplicates) {
        io.err(`lading: layer ${d.layer} has ${d.path} twice; the last one won\n`);
      }
      io.out(
        `Unpacked ${image.name} into ${f.positionals[1]}: ${count(r.files, "file")} (${
          formatBytes(r.bytes)
        }), ${count(r.directories, "directory", "directories")}, ${count(r.symlinks, "symlink")}, ${
          count(r.hardlinks, "hardlink")
        }${r.xattrs ? `, ${count(r.xattrs, "xattr")}` : ""}\n`,
      );
      return 0;
    });
  },
};
