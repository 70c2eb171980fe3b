/**
 * `lading gc`: remove every blob no name reaches and no import in flight protects, and
 * the files dead writers left in `ingest/`; print what was freed (`--dry-run`: what
 * would be).
 * @module
 */
import { collectGarbage } from "../gc.ts";
import type { Digest } from "../digest.ts";
import { openFsStore } from "../store/fs.ts";
import { pruneLayerCache } from "./layer_cache.ts";
import { pruneMergedCache } from "./merged_cache.ts";
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
import { existingStoreDir } from "./store_open.ts";

/** Partial downloads untouched this long are removed by a plain `gc`. */
const PARTIAL_MAX_AGE_MS = 24 * 3600 * 1000;

/** `gc`. */
export const gcCommand: Command = {
  path: ["gc"],
  summary: "remove blobs no image name reaches, and stale ingest files; print what was freed",
  args: "",
  complete: "none",
  details: "Blobs an import in progress is writing or about to name are never removed.\n" +
    "Files that dead processes left in ingest/ and leases/ are removed too, and partial\n" +
    "downloads (kept for a later pull to resume) untouched for 24 hours or whose blob is\n" +
    "complete; --ingest removes every partial download nobody is writing.",
  flags: [
    { name: "dry-run", help: "print what would be removed, remove nothing" },
    {
      name: "ingest",
      help: "also remove every partial download nobody is writing (default: those idle 24 h)",
    },
    JSON_FLAG,
    { name: "quiet", short: "q", help: "print nothing" },
  ],
  examples: ["lading gc", "lading gc --dry-run", "lading gc --ingest", "lading gc -q"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, gcCommand);
    if (f.positionals.length) throw new UsageError("gc takes no arguments");
    // Without the automatic stale-file sweep of opening: what dead writers left in
    // ingest/ is counted in what gc frees.
    const store = await openFsStore(await existingStoreDir(f.values, io), {
      removeStale: false,
      create: false,
    });
    try {
      const dryRun = !!f.values["dry-run"];
      const result = await collectGarbage(store, { dryRun });
      const stale = await store.removeStaleFiles({
        dryRun,
        partialsOlderThanMs: f.values.ingest ? 0 : PARTIAL_MAX_AGE_MS,
      });
      // The layer index of blobs that are gone (or that this gc removes), and the merged
      // listings that name one.
      const gone = new Set(result.removed.map((b) => b.digest as string));
      const kept = async (d: string) => !gone.has(d) && await store.has(d as Digest);
      stale.push(
        ...await pruneLayerCache(store.dir, kept, { dryRun }),
        ...await pruneMergedCache(store.dir, kept, { dryRun }),
      );
      if (f.values.json) {
        io.out(json({
          dryRun,
          removed: result.removed,
          bytes: result.bytes,
          kept: result.kept,
          leased: result.leased,
          staleFiles: stale,
          staleBytes: stale.reduce((n, s) => n + s.size, 0),
        }));
        return 0;
      }
      if (f.values.quiet) return 0;
      const verb = dryRun ? "would remove" : "removed";
      {
        for (const b of result.removed) io.out(`${verb} ${b.digest} ${formatBytes(b.size)}\n`);
        for (const s of stale) {
          io.out(
            s.partial
              ? `${verb} partial download of ${s.partial} ${formatBytes(s.size)}\n`
              : `${verb} stale ${s.path} ${formatBytes(s.size)}\n`,
          );
        }
      }
      const staleBytes = stale.reduce((n, s) => n + s.size, 0);
      io.err(
        `${dryRun ? "would free" : "freed"} ${formatBytes(result.bytes + staleBytes)}: ${
          count(result.removed.length, "blob")
        } (${formatBytes(result.bytes)}) and ${count(stale.length, "stale file")} (${
          formatBytes(staleBytes)
        }); kept ${count(result.kept, "blob")}${
          result.leased ? ` (${result.leased} held by imports in progress)` : ""
        }\n`,
      );
      return 0;
    } finally {
      await store.close();
    }
  },
};
