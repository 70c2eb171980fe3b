/**
 * `lading unpack <name> <DIR>`: the merged root filesystem written to DIR, safely (see
 * `src/deno/unpack_fs.ts`).
 * @module
 */
import { unpackImage } from "../deno/unpack_fs.ts";
import { type CliIO, type Command, formatBytes, json, parseFlags, UsageError } from "./common.ts";
import { LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

/** `unpack`. */
export const unpackCommand: Command = {
  path: ["unpack"],
  summary: "write an image's merged root filesystem to a new directory, safely",
  usage:
    "lading unpack <name> <DIR> [--platform P] [--preserve-devices] [--preserve-setuid] [--json] [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, {
      ...LAYER_FLAGS,
      boolean: ["json", "preserve-devices", "preserve-setuid"],
    });
    if (f.positionals.length !== 2) {
      throw new UsageError("unpack takes an image name and a directory");
    }
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const r = await unpackImage(store, image, f.positionals[1], {
        ...readOptions(f.values, io),
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
          `lading: removed setuid/setgid bits from ${r.strippedSetuid.length} file(s) (--preserve-setuid as root keeps them)\n`,
        );
      }
      for (const d of r.duplicates) {
        io.err(`lading: layer ${d.layer} has ${d.path} twice; the last one won\n`);
      }
      io.out(
        `Unpacked ${image.name} into ${f.positionals[1]}: ${r.files} files (${
          formatBytes(r.bytes)
        }), ${r.directories} directories, ${r.symlinks} symlinks, ${r.hardlinks} hardlinks${
          r.xattrs ? `, ${r.xattrs} xattrs` : ""
        }\n`,
      );
      return 0;
    });
  },
};
