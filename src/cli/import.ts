/**
 * `lading import`: every input shape into the store, all or nothing.
 * @module
 */
import { importImages } from "../import/mod.ts";
import { verifyImagesDiffIds } from "../layers/verify.ts";
import { sourceFromPath } from "../deno/fs_source.ts";
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  openStore,
  parseFlags,
  platformsOf,
  Progress,
  UsageError,
} from "./common.ts";

/** The import command. */
export const importCommand: Command = {
  path: ["import"],
  summary: "import an OCI layout, oci-archive or docker archive (plain, gzip, zstd; - for stdin)",
  usage:
    "lading import [--platform P]... [--base-name NAME] [--digests] [--skip-digest-for-named]\n" +
    "       [--index-name NAME] [--allow-missing] [--dry-run] [--json] [--store DIR] <path | ->",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, {
      string: ["base-name", "index-name"],
      multiple: ["platform"],
      boolean: [
        "digests",
        "skip-digest-for-named",
        "dry-run",
        "json",
        "allow-missing",
        "verify-diff-ids",
      ],
    });
    if (f.positionals.length !== 1) throw new UsageError("import takes exactly one path (or -)");
    const platforms = platformsOf(f.values);
    const source = await sourceFromPath(f.positionals[0], io.stdin);
    const store = await openStore(f.values, io);
    try {
      const progress = new Progress(
        io,
        "importing",
        source.kind === "stream" ? source.size : undefined,
      );
      let last = 0;
      const result = await importImages(store, source, {
        platforms,
        baseName: f.values["base-name"] as string | undefined,
        indexName: f.values["index-name"] as string | undefined,
        digests: f.values.digests as boolean | undefined,
        skipDigestForNamed: f.values["skip-digest-for-named"] as boolean | undefined,
        dryRun: f.values["dry-run"] as boolean | undefined,
        allowMissing: f.values["allow-missing"] as boolean | undefined,
        onProgress: (n) => {
          progress.add(n - last);
          last = n;
        },
        onWarning: (m) => {
          if (!f.values.json) io.err(`warning: ${m}\n`);
        },
        // --verify-diff-ids: decompress every layer before any name is recorded.
        beforeNaming: f.values["verify-diff-ids"]
          ? async (s, records) => {
            const targets = [...new Set(records.map((r) => r.target.digest))];
            await verifyImagesDiffIds(s, targets, { platforms });
          }
          : undefined,
      });
      progress.end();
      if (f.values.json) {
        io.out(json({
          images: result.images,
          blobs: result.blobs,
          ...(result.missing.length ? { missing: result.missing } : {}),
          format: result.format,
          compression: result.compression,
          ...(result.warnings.length ? { warnings: result.warnings } : {}),
          dryRun: !!f.values["dry-run"],
        }));
      } else {
        for (const i of result.images) io.out(`${i.name} ${i.digest}\n`);
        const verb = f.values["dry-run"] ? "would add" : "added";
        io.err(
          `blobs: ${result.blobs.added} ${verb}, ${result.blobs.present} present (${
            formatBytes(result.blobs.bytes)
          } ${f.values["dry-run"] ? "to write" : "written"})${
            result.images.length === 0 ? "; no image names in the input (try --digests)" : ""
          }\n`,
        );
        for (const m of result.missing) {
          io.err(`missing: ${m.digest} (${m.mediaType}) of ${m.image}\n`);
        }
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
