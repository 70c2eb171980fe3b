/**
 * `lading diff <name> --layer N`: the paths one layer added, modified and deleted.
 * @module
 */
import { mergeImage } from "../layers/image_layers.ts";
import { type CliIO, type Command, json, JSON_FLAG, parseCommand, UsageError } from "./common.ts";
import { chooseLayer, LAYER_FLAGS, OutputBuffer, readOptions, withImage } from "./layers_common.ts";

const MARK = { added: "A", modified: "M", deleted: "D" } as const;

/** `diff`. */
export const diffCommand: Command = {
  path: ["diff"],
  summary: "show the paths one layer added (A), modified (M) and deleted (D)",
  args: "<name> --layer N|DIGEST",
  flags: [
    {
      name: "layer",
      kind: "string",
      value: "N|DIGEST",
      help: "the layer: its index (0 is the bottom) or digest (prefix of 12+ hex digits)",
    },
    ...LAYER_FLAGS,
    JSON_FLAG,
  ],
  examples: ["lading diff busybox --layer 0", "lading diff example.com/app:1 --layer 2 --json"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, diffCommand);
    if (f.positionals.length !== 1) throw new UsageError("diff takes one image name");
    if (f.values.layer === undefined) throw new UsageError("diff needs --layer N|DIGEST");
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const index = chooseLayer(image, f.values.layer as string);
      const { fs } = await mergeImage(store, image, {
        ...readOptions(f.values, io, { index: true }),
        trackVersions: false,
      });
      const changes = [...(fs.changes[index] ?? [])].sort((a, b) =>
        a.path < b.path ? -1 : a.path > b.path ? 1 : 0
      );
      if (f.values.json) {
        io.out(json(changes.map(({ path, kind, type, size }) => ({ path, kind, type, size }))));
        return 0;
      }
      const out = new OutputBuffer(io);
      for (const c of changes) {
        out.line(
          `${MARK[c.kind]} ${
            c.type === "directory" && c.kind !== "deleted" ? c.path + "/" : c.path
          }`,
        );
      }
      out.flush();
      return 0;
    });
  },
};
