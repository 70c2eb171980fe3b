/**
 * `lading cat <name> <PATH>`: the bytes of a file of the merged filesystem (or of one
 * layer with `--layer`) on stdout. Symlinks are resolved inside the image; nothing
 * outside it is ever read. The layer is read only up to the file's member.
 * @module
 */
import { shortDigest } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { openStoreLayer } from "../layers/layer_reader.ts";
import { normalizeEntryPath } from "../layers/path.ts";
import { readImageFile } from "../layers/read_file.ts";
import { iteratorStream } from "../streams.ts";
import { type CliIO, type Command, parseCommand, UsageError } from "./common.ts";
import { chooseLayer, LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

/** `cat`. */
export const catCommand: Command = {
  path: ["cat"],
  summary: "print a file of an image's merged filesystem (or of one layer)",
  args: "<name> <PATH>",
  details: "Symlinks are followed inside the image (never out of it). With --layer, the file\n" +
    "as that layer has it (no symlinks followed), even when a later layer changed or\n" +
    "deleted it.",
  flags: [
    {
      name: "layer",
      kind: "string",
      value: "N|DIGEST",
      help: "read the file from this layer: index (0 is the bottom) or digest (prefix of 12+)",
    },
    ...LAYER_FLAGS,
  ],
  examples: [
    "lading cat busybox /etc/passwd",
    "lading cat --layer 0 example.com/app:1 /etc/os-release | head",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, catCommand);
    if (f.positionals.length !== 2) throw new UsageError("cat takes an image name and a path");
    let path: string;
    try {
      path = normalizeEntryPath(f.positionals[1], "path");
    } catch (e) {
      if (e instanceof InvalidInputError) throw new UsageError(e.message);
      throw e;
    }
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      if (f.values.layer === undefined) {
        const file = await readImageFile(store, image, {
          ...readOptions(f.values, io, { index: true }),
          path: f.positionals[1],
        });
        await file.stream.pipeTo(io.stdout, { preventClose: true });
        return 0;
      }
      const index = chooseLayer(image, f.values.layer as string);
      const d = image.manifest.layers[index];
      const layer = await openStoreLayer(store, d, {
        ...readOptions(f.values, io),
        what: `layer ${index} ${shortDigest(d.digest)}`,
        hash: false,
      });
      for (let e = await layer.next(); e; e = await layer.next()) {
        if (e.path !== path || e.whiteout) continue;
        if (e.type !== "file") {
          await layer.cancel();
          throw new InvalidInputError(
            `${
              JSON.stringify(f.positionals[1])
            } is a ${e.type} in layer ${index}, not a regular file`,
          );
        }
        await iteratorStream(e.chunks(), (r) => layer.cancel(r)).pipeTo(io.stdout, {
          preventClose: true,
        });
        await layer.cancel().catch(() => {});
        return 0;
      }
      throw new NotFoundError(
        `${JSON.stringify(f.positionals[1])}: no such file in layer ${index}`,
      );
    });
  },
};
