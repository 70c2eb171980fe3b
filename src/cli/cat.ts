/**
 * `lading cat <name> <PATH>`: the bytes of a file of the merged filesystem (or of one
 * layer with `--layer`) on stdout. Symlinks are resolved inside the image; nothing
 * outside it is ever read. The layer is read only up to the file's member; once the store
 * indexed a gzip layer, only from the access point before the member (a few MB at most).
 * @module
 */
import { shortDigest } from "../digest.ts";
import { InvalidInputError, NotFoundError } from "../errors.ts";
import { normalizeEntryPath } from "../layers/path.ts";
import { expectRegularFile } from "../layers/resolve.ts";
import { memberAt, type StoreLayerCache } from "./layer_cache.ts";
import { mergedListing } from "./merged_cache.ts";
import { iteratorStream } from "../streams.ts";
import { type CliIO, type Command, parseCommand, UsageError } from "./common.ts";
import { storeDir } from "./store_open.ts";
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
        // The image's merged listing (kept in the store) names the member with the bytes.
        const listing = await mergedListing(store, image, {
          ...options,
          layerIndex: cache,
          storeDir: storeDir(f.values, io),
        });
        const raw = f.positionals[1];
        const at = listing.lookup(raw, { follow: true });
        const node = at === undefined ? undefined : listing.node(at);
        const member = expectRegularFile(
          raw,
          node && { type: node.inodeType, content: node.content },
        ).content!;
        // From the access point before the member when the layer has them, else from the
        // layer's start (up to the member).
        const d = image.manifest.layers[member.layer];
        const stream = await cache.openMember(store, d, member) ??
          await (await import("../layers/read_file.ts")).openLayerEntry(store, image, {
            ...options,
            ...member,
          });
        await stream.pipeTo(io.stdout, { preventClose: true });
        return 0;
      }
      const index = chooseLayer(image, f.values.layer as string);
      const d = image.manifest.layers[index];
      const member = (await cache.get(d))?.entries.findLast((e) => e.path === path && !e.whiteout);
      if (member?.type === "file") {
        const stream = await cache.openMember(store, d, memberAt(member));
        if (stream) {
          await stream.pipeTo(io.stdout, { preventClose: true });
          return 0;
        }
      }
      const { openStoreLayer } = await import("../layers/layer_reader.ts");
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
