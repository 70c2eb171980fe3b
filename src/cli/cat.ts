/**
 * `lading cat <name> <PATH>`: the bytes of a file of the merged filesystem (or of one
 * layer with `--layer`) on stdout. Symlinks are resolved inside the image; nothing
 * outside it is ever read. The layer is read only up to the file's member; once the store
 * indexed a gzip layer, only from the access point before the member (a few MB at most).
 * @module
 */
import { shortDigest } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { openStoreLayer } from "../layers/layer_reader.ts";
import { normalizeEntryPath } from "../layers/path.ts";
import { findFile, readImageFile } from "../layers/read_file.ts";
import { mergeImage } from "../layers/image_layers.ts";
import { linkRoot } from "../layers/merged_fs.ts";
import type { StoreLayerCache } from "./layer_cache.ts";
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
      const options = readOptions(f.values, io, { index: true });
      const cache = options.layerIndex as StoreLayerCache;
      if (f.values.layer === undefined) {
        const { fs } = await mergeImage(store, image, {
          ...options,
          trackChanges: false,
          trackVersions: false,
        });
        // From the access point before the member when the layer has them, else from the
        // layer's start (up to the member).
        const ref = linkRoot(findFile(fs, f.positionals[1])).content!;
        const d = image.manifest.layers[ref.layer];
        const entry = (await cache.get(d))?.entries[ref.entry];
        const stream = (entry && await cache.openMember(store, d, entry)) ??
          (await readImageFile(store, image, { ...options, fs, path: f.positionals[1] })).stream;
        await stream.pipeTo(io.stdout, { preventClose: true });
        return 0;
      }
      const index = chooseLayer(image, f.values.layer as string);
      const d = image.manifest.layers[index];
      const member = (await cache.get(d))?.entries.findLast((e) => e.path === path && !e.whiteout);
      if (member?.type === "file") {
        const stream = await cache.openMember(store, d, member);
        if (stream) {
          await stream.pipeTo(io.stdout, { preventClose: true });
          return 0;
        }
      }
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
