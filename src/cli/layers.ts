/**
 * `lading layers <name>`: per layer, its digest, media type, compressed and uncompressed
 * size, file count, verified diff_id and the history line that made it.
 * @module
 */
import { shortDigest } from "../digest.ts";
import { summarizeLayers } from "../layers/image_layers.ts";
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  table,
  UsageError,
} from "./common.ts";
import { LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

/** `layers`. */
export const layersCommand: Command = {
  path: ["layers"],
  summary: "list an image's layers: sizes, file counts, verified diff_ids, history",
  args: "<name>",
  details: "Every layer is read once (decompressed, counted, its diff_id computed and compared\n" +
    "with the config's); a mismatch is exit 1.",
  flags: [...LAYER_FLAGS, JSON_FLAG],
  examples: [
    "lading layers busybox",
    "lading layers example.com/app:1 --platform linux/arm64 --json",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, layersCommand);
    if (f.positionals.length !== 1) throw new UsageError("layers takes one image name");
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const layers = await summarizeLayers(store, image, {
        ...readOptions(f.values, io, { index: true }),
        verifyDiffIds: false,
      });
      const bad = layers.filter((l) => l.verified === false);
      if (f.values.json) {
        io.out(json({
          name: image.name,
          manifest: image.manifestDescriptor.digest,
          layers: layers.map((l) => ({
            index: l.index,
            digest: l.descriptor.digest,
            mediaType: l.descriptor.mediaType,
            size: l.descriptor.size,
            ...(l.skipped ? { skipped: l.skipped } : {
              compression: l.compression,
              uncompressedSize: l.uncompressedSize,
              entries: l.entries,
              files: l.files,
              whiteouts: l.whiteouts,
              diffId: l.diffId,
            }),
            ...(l.expectedDiffId ? { expectedDiffId: l.expectedDiffId } : {}),
            ...(l.verified !== undefined ? { verified: l.verified } : {}),
            ...(l.createdBy !== undefined ? { createdBy: l.createdBy } : {}),
          })),
        }));
      } else {
        io.out(table(
          ["#", "DIGEST", "MEDIA TYPE", "SIZE", "UNCOMPRESSED", "FILES", "DIFF_ID", "CREATED BY"],
          layers.map((l) => [
            String(l.index),
            shortDigest(l.descriptor.digest),
            l.descriptor.mediaType,
            formatBytes(l.descriptor.size),
            l.uncompressedSize === undefined ? "-" : formatBytes(l.uncompressedSize),
            l.files === undefined ? "-" : String(l.files),
            l.skipped
              ? "(not a layer)"
              : `${shortDigest(l.diffId ?? "")} ${
                l.verified === true
                  ? "verified"
                  : l.verified === false
                  ? "MISMATCH"
                  : "(no diff_id)"
              }`,
            (l.createdBy ?? "").replace(/\s+/g, " ").slice(0, 80),
          ]),
        ));
      }
      for (const l of bad) {
        io.err(
          `lading: layer ${l.index} ${l.descriptor.digest}: diff_id mismatch: expected ${l.expectedDiffId}, actual ${l.diffId}\n`,
        );
      }
      return bad.length ? 1 : 0;
    });
  },
};
