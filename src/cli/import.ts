/**
 * `lading import`: every input shape into the store, all or nothing.
 * @module
 */
import { importImages } from "../import/mod.ts";
import { verifyImagesDiffIds } from "../layers/verify.ts";
import { sourceFromPath } from "../deno/fs_source.ts";
import { LadingError, NotFoundError } from "../errors.ts";
import { formatPlatform } from "../platform.ts";
import { dockerSaveDirectorySource, isDockerSaveDirectory } from "./docker_dir.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/types.ts";
import {
  atInterrupt,
  type CliIO,
  type Command,
  count,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
  platformsOf,
  Progress,
  QUIET_FLAG,
  refuseTerminalInput,
  UsageError,
} from "./common.ts";
import { openStore, openStoreForReading, removeOwnStoreFiles, storeDir } from "./store_open.ts";

/** Missing blobs listed on stderr (with --allow-missing); `--json` lists all. */
const MISSING_SHOWN = 5;

/** The import command. */
export const importCommand: Command = {
  path: ["import"],
  summary: "import an OCI layout, oci-archive or docker archive (plain, gzip, zstd; - for stdin)",
  args: "<path | ->",
  complete: "file",
  details: "<path> is an oci-archive or docker-save tar (plain, gzip or zstd), an OCI layout\n" +
    "directory, or an extracted docker-save directory; - reads a tar from stdin.\n" +
    "Names follow 'ctr images import': io.containerd.image.name wins; a tag-only\n" +
    "org.opencontainers.image.ref.name gets --base-name (default import-<date>).\n" +
    "An import that names nothing and stores nothing fails (exit 1), unless --dry-run.",
  flags: [
    {
      name: "platform",
      kind: "multiple",
      value: "P",
      help: "import only this platform's content (os/arch[/variant]; comma lists allowed)",
    },
    { name: "base-name", kind: "string", value: "NAME", help: "base name for tag-only names" },
    { name: "digests", help: "also name every entry <base>@<digest>" },
    {
      name: "skip-digest-for-named",
      help: "with --digests: only for entries that got no other name",
    },
    { name: "index-name", kind: "string", value: "NAME", help: "name the input's whole index" },
    { name: "allow-missing", help: "import even when blobs are missing (the image is incomplete)" },
    { name: "verify-diff-ids", help: "decompress every layer and check its diff_id before naming" },
    {
      name: "verify-existing",
      help: "re-hash the blobs the store already has; replace corrupt ones from the input",
    },
    {
      name: "docker-media-types",
      help: "docker archive: build containerd's Docker manifests (ctr's digests), not OCI ones",
    },
    { name: "dry-run", help: "check everything, write nothing (not even a new store)" },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading import busybox.tar",
    "skopeo copy docker://alpine oci-archive:/dev/stdout | lading import -",
    "lading import --platform linux/arm64 multi.tar",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, importCommand);
    if (f.positionals.length !== 1) throw new UsageError("import takes exactly one path (or -)");
    const platforms = platformsOf(f.values);
    const dryRun = !!f.values["dry-run"];
    const quiet = !!f.values.quiet;
    const path = f.positionals[0];
    if (path === "-") refuseTerminalInput(io, "an archive");
    const source =
      path !== "-" && (await Deno.stat(path).then((s) => s.isDirectory, () => false)) &&
        (await isDockerSaveDirectory(path))
        ? await dockerSaveDirectorySource(path)
        : await sourceFromPath(path, io.stdin);
    // A dry run creates nothing: on a missing store it compares against an empty one.
    const store: Store = dryRun
      ? await openStoreForReading(f.values, io).catch((e) => {
        if (e instanceof NotFoundError) return new MemoryStore();
        throw e;
      })
      : await openStore(f.values, io);
    const dir = storeDir(f.values, io);
    const unregister = dryRun ? () => {} : atInterrupt(() => removeOwnStoreFiles(dir));
    try {
      const progress = new Progress(
        io,
        dryRun ? "checking" : "importing",
        source.kind === "stream" ? source.size : undefined,
        { quiet: quiet || !!f.values.json },
      );
      const warnings: string[] = [];
      const result = await importImages(store, source, {
        platforms,
        baseName: f.values["base-name"] as string | undefined,
        indexName: f.values["index-name"] as string | undefined,
        digests: f.values.digests as boolean | undefined,
        skipDigestForNamed: f.values["skip-digest-for-named"] as boolean | undefined,
        dryRun,
        allowMissing: f.values["allow-missing"] as boolean | undefined,
        verifyExisting: f.values["verify-existing"] as boolean | undefined,
        dockerMediaTypes: f.values["docker-media-types"] as boolean | undefined,
        onProgress: (n) => progress.set(n),
        onWarning: (m) => warnings.push(m),
        // --verify-diff-ids: decompress every layer before any name is recorded.
        beforeNaming: f.values["verify-diff-ids"]
          ? async (s, records) => {
            const targets = [...new Set(records.map((r) => r.target.digest))];
            await verifyImagesDiffIds(s, targets, { platforms });
          }
          : undefined,
      });
      progress.end();
      const kept = result.entries.filter((e) => e.imported);
      // Under --index-name every entry is reachable (and gc-safe) through the named index.
      const indexNamed = !!f.values["index-name"] && result.images.length > 0;
      const unnamed = indexNamed ? [] : kept.filter((e) => e.names.length === 0);
      const failed = !dryRun && result.images.length === 0 && result.blobs.added === 0;
      if (f.values.json) {
        io.out(json({
          images: result.images,
          entries: result.entries,
          blobs: result.blobs,
          ...(result.missing.length ? { missing: result.missing } : {}),
          format: result.format,
          compression: result.compression,
          ...(result.warnings.length ? { warnings: result.warnings } : {}),
          dryRun,
        }));
      } else {
        for (const i of result.images) io.out(`${i.name} ${i.digest}\n`);
        for (const e of unnamed) io.out(`(no name) ${e.digest}\n`);
        if (!quiet) {
          for (const w of warnings) io.err(`warning: ${w}\n`);
          const verb = dryRun ? "would add" : "added";
          io.err(
            `blobs: ${result.blobs.added} ${verb}, ${result.blobs.present} present${
              result.blobs.repaired ? `, ${result.blobs.repaired} repaired` : ""
            } (${formatBytes(result.blobs.bytes)} ${dryRun ? "to write" : "written"})\n`,
          );
          // The first few; --json lists every one.
          for (const m of result.missing.slice(0, MISSING_SHOWN)) {
            io.err(`missing: ${m.digest} (${m.mediaType}) of ${m.image}\n`);
          }
          if (result.missing.length > MISSING_SHOWN) {
            io.err(
              `missing: ... and ${result.missing.length - MISSING_SHOWN} more (--json lists all)\n`,
            );
          }
          if (unnamed.length && kept.length) {
            io.err(
              `${count(unnamed.length, "entry", "entries")} of ${f.positionals[0]} ${
                unnamed.length === 1 ? "has" : "have"
              } no name; name ${
                unnamed.length === 1 ? "it" : "them"
              } with 'lading images tag <digest> NAME', or import again with --digests or --index-name NAME (until then 'lading gc' removes ${
                unnamed.length === 1 ? "its" : "their"
              } content)\n`,
            );
          }
        }
      }
      if (kept.length === 0 && result.entries.length > 0) {
        const have = result.entries.map((e) => e.platform ? formatPlatform(e.platform) : "")
          .filter((p) => p);
        const message = `nothing ${
          dryRun ? "would be " : ""
        }imported: no entry of ${path} matches --platform ${
          platforms.map(formatPlatform).join(",")
        }${have.length ? ` (it has ${[...new Set(have)].join(", ")})` : ""}`;
        if (!dryRun) throw new LadingError(message);
        if (!quiet) io.err(`warning: ${message}\n`);
      }
      if (failed) {
        throw new LadingError(
          `nothing imported from ${path}: no name recorded and no new content${
            unnamed.length ? " (its entries have no name; see above)" : ""
          }`,
        );
      }
      return 0;
    } finally {
      unregister();
      await store.close();
    }
  },
};
