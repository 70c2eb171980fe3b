/**
 * `lading gc`: remove every blob no name reaches and no import in flight protects, and
 * the files dead writers left in `ingest/`; print what was freed (`--dry-run`: what
 * would be).
 * @module
 */
import { collectGarbage } from "../gc.ts";
import { openFsStore } from "../store/fs.ts";
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  parseFlags,
  storeDir,
  UsageError,
} from "./common.ts";

/** `gc`. */
export const gcCommand: Command = {
  path: ["gc"],
  summary: "remove blobs no image name reaches, and stale ingest files",
  usage: "lading gc [--dry-run] [--json] [-q] [--store DIR]\n\n" +
    "  Blobs an import in progress is writing or about to name are never removed.\n" +
    "  Files that dead processes left in ingest/ and leases/ are removed too (listed with --dry-run).",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, { boolean: ["dry-run", "json", "quiet"], short: { q: "quiet" } });
    if (f.positionals.length) throw new UsageError("gc takes no arguments");
    const dir = storeDir(f.values, io);
    const store = await openFsStore(dir, { removeStale: false });
    try {
      const dryRun = !!f.values["dry-run"];
      const result = await collectGarbage(store, { dryRun });
      const stale = await store.removeStaleFiles({ dryRun });
      if (f.values.json) {
        io.out(json({
          dryRun,
          removed: result.removed,
          bytes: result.bytes,
          kept: result.kept,
          leased: result.leased,
          staleFiles: stale,
        }));
        return 0;
      }
      const verb = dryRun ? "would remove" : "removed";
      if (!f.values.quiet) {
        for (const b of result.removed) io.out(`${verb} ${b.digest} ${formatBytes(b.size)}\n`);
        for (const s of stale) io.out(`${verb} stale ${s.path} ${formatBytes(s.size)}\n`);
      }
      const staleBytes = stale.reduce((n, s) => n + s.size, 0);
      io.err(
        `${dryRun ? "would free" : "freed"} ${
          formatBytes(result.bytes)
        } in ${result.removed.length} blob${result.removed.length === 1 ? "" : "s"}${
          stale.length
            ? ` and ${formatBytes(staleBytes)} in ${stale.length} stale ingest file${
              stale.length === 1 ? "" : "s"
            }`
            : ""
        }; kept ${result.kept} blob${result.kept === 1 ? "" : "s"}${
          result.leased ? ` (${result.leased} held by imports in progress)` : ""
        }\n`,
      );
      return 0;
    } finally {
      await store.close();
    }
  },
};
