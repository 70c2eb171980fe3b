/**
 * `lading ls <name> [PATH]`: the files of the merged filesystem (default) or of one layer
 * (`--layer N|DIGEST`, whiteouts shown), under PATH, like `ls -l` with `-l`.
 * @module
 */
import { InvalidInputError, NotFoundError } from "../errors.ts";
import type { ResolvedImage } from "../image.ts";
import { readImageLayers } from "../layers/image_layers.ts";
import type { LayerEntry } from "../layers/layer_reader.ts";
import { normalizeEntryPath, parentPath, ROOT } from "../layers/path.ts";
import type { Store } from "../store/types.ts";
import { DigestMismatchError } from "../errors.ts";
import { type CliIO, type Command, json, JSON_FLAG, parseCommand, UsageError } from "./common.ts";
import { storeDir } from "./store_open.ts";
import type { StoreLayerCache } from "./layer_cache.ts";
import { mergedListing } from "./merged_cache.ts";
import {
  chooseLayer,
  LAYER_FLAGS,
  linkSuffix,
  longPrefix,
  nodeJson,
  OutputBuffer,
  readOptions,
  withImage,
} from "./layers_common.ts";

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}

function under(path: string, prefix: string, recursive: boolean): boolean {
  if (recursive) return prefix === ROOT || path === prefix || path.startsWith(prefix + "/");
  return path === prefix || parentPath(path) === prefix;
}

async function listLayer(
  store: Store,
  image: ResolvedImage,
  index: number,
  prefix: string,
  flags: Record<string, unknown>,
  io: CliIO,
): Promise<number> {
  const d = image.manifest.layers[index];
  // One layer, through the store's layer index (its diff_id checked like any read).
  const expected = image.config.rootfs?.diff_ids?.[index];
  const one: ResolvedImage = {
    ...image,
    manifest: { ...image.manifest, layers: [d] },
    config: {
      ...image.config,
      history: [],
      rootfs: { type: "layers", diff_ids: expected ? [expected] : [] },
    },
  };
  const entries: LayerEntry[] = [];
  const [summary] = await readImageLayers(store, one, {
    ...readOptions(flags as never, io, { index: true }),
    onEntry: (_, e) => void entries.push(e),
    verifyDiffIds: false,
  });
  const out = new OutputBuffer(io);
  const rows: unknown[] = [];
  for (const e of entries) {
    const shownPath = e.whiteout && e.whiteout.kind !== "meta" ? e.whiteout.path : e.path;
    if (shownPath === ROOT || !under(shownPath, prefix, !!flags.recursive)) {
      continue;
    }
    if (flags.json) {
      rows.push({
        path: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        ...(e.uname ? { uname: e.uname } : {}),
        ...(e.gname ? { gname: e.gname } : {}),
        size: e.size,
        mtime: e.mtime,
        ...(e.linkname ? { linkname: e.linkname } : {}),
        ...(e.type.endsWith("-device") ? { devmajor: e.devmajor, devminor: e.devminor } : {}),
        ...(e.whiteout ? { whiteout: e.whiteout } : {}),
      });
      continue;
    }
    const shown = e.type === "directory" && e.path !== ROOT ? `${e.path}/` : e.path;
    const wh = e.whiteout?.kind === "whiteout"
      ? `  (whiteout: deletes ${e.whiteout.path})`
      : e.whiteout?.kind === "opaque"
      ? `  (opaque: hides lower contents of ${e.whiteout.path})`
      : "";
    out.line(
      (flags.long ? `${longPrefix(e)} ` : "") + shown +
        (flags.long ? linkSuffix(e.type, e.linkname) : "") + wh,
    );
  }
  if (expected && summary.diffId !== expected) {
    out.flush();
    throw new DigestMismatchError(
      `layer ${index} ${d.digest}: diff_id mismatch: expected ${expected}, actual ${summary.diffId}`,
      expected,
      summary.diffId!,
    );
  }
  if (flags.json) io.out(json(rows));
  out.flush();
  return 0;
}

/** `ls`. */
export const lsCommand: Command = {
  path: ["ls"],
  summary: "list a directory of an image (merged) or of one layer; -R for the whole tree",
  args: "<name> [PATH]",
  details: "Lists the entries of the directory PATH (default /) of the merged filesystem, one\n" +
    "path per line, like 'tar -t'; a file lists itself. With --layer, the members of that\n" +
    "layer (whiteouts shown as such). The second listing of a layer comes from the store's\n" +
    "file index (lading-cache/), so it is fast.",
  flags: [
    { name: "recursive", short: "R", help: "list everything under PATH, not only its entries" },
    { name: "long", short: "l", help: "long listing: mode, owner, size, time, link target" },
    {
      name: "layer",
      kind: "string",
      value: "N|DIGEST",
      help: "list one layer's members: its index (0 is the bottom) or digest (prefix of 12+)",
    },
    { name: "merged", help: "the merged filesystem (the default; excludes --layer)" },
    ...LAYER_FLAGS,
    JSON_FLAG,
  ],
  examples: [
    "lading ls busybox /etc",
    "lading ls -lR busybox /usr/share",
    "lading ls --layer 0 -R example.com/app:1",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, lsCommand);
    if (f.positionals.length < 1 || f.positionals.length > 2) {
      throw new UsageError("ls takes an image name and an optional path");
    }
    if (f.values.merged && f.values.layer !== undefined) {
      throw new UsageError("--merged and --layer exclude each other");
    }
    const rawPath = f.positionals[1] ?? ".";
    let prefix: string;
    try {
      prefix = normalizeEntryPath(rawPath, "path");
    } catch (e) {
      if (e instanceof InvalidInputError) throw new UsageError(e.message);
      throw e;
    }
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      if (f.values.layer !== undefined) {
        return await listLayer(
          store,
          image,
          chooseLayer(image, f.values.layer as string),
          prefix,
          f.values,
          io,
        );
      }
      const options = readOptions(f.values, io, { index: true });
      const listing = await mergedListing(store, image, {
        ...options,
        layerIndex: options.layerIndex as StoreLayerCache,
        storeDir: storeDir(f.values, io),
      });
      const start = listing.lookup(prefix, { follow: true });
      if (start === undefined) {
        throw new NotFoundError(`${JSON.stringify(rawPath)}: no such path in the image`);
      }
      // Nodes in `ls -R` order: a subtree is the range after its directory.
      const items: Iterable<number> = !listing.isDirectory(start)
        ? [start]
        : f.values.recursive
        ? range(start + 1, listing.end(start))
        : listing.children(start);
      if (f.values.json) {
        const rows: unknown[] = [];
        for (const i of items) {
          const node = listing.node(i);
          rows.push(nodeJson(node.path, node));
        }
        io.out(json(rows));
        return 0;
      }
      const out = new OutputBuffer(io);
      for (const i of items) {
        if (f.values.long) {
          const node = listing.node(i);
          const shown = node.type === "directory" ? `${node.path}/` : node.path;
          out.line(`${longPrefix(node)} ${shown}${linkSuffix(node.type, node.linkname)}`);
        } else out.line(listing.isDirectory(i) ? `${listing.path(i)}/` : listing.path(i));
      }
      out.flush();
      return 0;
    });
  },
};
