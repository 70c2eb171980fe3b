/**
 * `lading cat <name> <PATH>`: the bytes of a file of the merged filesystem on stdout.
 * Symlinks are resolved inside the image; nothing outside it is ever read.
 * @module
 */
import { readImageFile } from "../layers/read_file.ts";
import { type CliIO, type Command, parseFlags, UsageError } from "./common.ts";
import { LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

/** `cat`. */
export const catCommand: Command = {
  path: ["cat"],
  summary: "print a file of an image's merged filesystem",
  usage: "lading cat <name> <PATH> [--platform P] [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { ...LAYER_FLAGS });
    if (f.positionals.length !== 2) throw new UsageError("cat takes an image name and a path");
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const file = await readImageFile(store, image, f.positionals[1], readOptions(f.values, io));
      await file.stream.pipeTo(io.stdout, { preventClose: true });
      return 0;
    });
  },
};
