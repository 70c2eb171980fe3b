/**
 * `lading export`: names → oci-archive or docker archive, to a file (written under a
 * temporary name and renamed into place only when complete) or to stdout.
 * @module
 */
import { AlreadyExistsError } from "../errors.ts";
import { type ExportFormat, planExport } from "../export/mod.ts";
import { outputKind, writeArchiveFile, writeFileAtomically } from "../deno/export_file.ts";
import {
  atInterrupt,
  type CliIO,
  type Command,
  count,
  formatBytes,
  json,
  JSON_FLAG,
  OUTPUT_FLAG,
  parseCommand,
  platformsOf,
  Progress,
  QUIET_FLAG,
  refuseTerminal,
  UsageError,
} from "./common.ts";
import { openStoreForReading, removeOwnStoreFiles, storeDir } from "./store_open.ts";

/** The export command. */
export const exportCommand: Command = {
  path: ["export"],
  summary: "write images to an oci-archive (default) or a docker archive",
  args: "<name>...",
  details: "Without -o (or with -o -) the archive goes to stdout, which must not be a\n" +
    "terminal. A file is written under a temporary name and renamed into place when\n" +
    "complete; Ctrl-C leaves nothing behind.",
  flags: [
    OUTPUT_FLAG,
    {
      name: "platform",
      kind: "multiple",
      value: "P",
      help: "only this platform's content; an index that loses entries is rewritten and says so",
    },
    {
      name: "format",
      kind: "string",
      value: "oci|docker",
      help: "oci-archive (default) or a 'docker save' archive (one platform per image)",
    },
    {
      name: "keep-index",
      help: "with --platform: keep the original index (a partial archive, like 'ctr export')",
    },
    { name: "skip-non-distributable", help: "leave out foreign/non-distributable layers" },
    { name: "gzip", help: "compress the archive with gzip" },
    { name: "verify", help: "re-hash every blob while writing" },
    { name: "force", help: "replace FILE when it exists" },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading export -o busybox.tar busybox",
    "lading export --format docker busybox | docker load",
    "lading export --platform linux/arm64 -o arm.tar example.com/app:1",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, exportCommand);
    if (f.positionals.length === 0) throw new UsageError("export needs at least one image name");
    const output = (f.values.output as string | undefined) ?? "-";
    if (output === "") throw new UsageError("-o needs a file name (or - for stdout)");
    const format = (f.values.format as string | undefined) ?? "oci";
    if (format !== "oci" && format !== "docker") {
      throw new UsageError(`--format must be oci or docker, not ${JSON.stringify(format)}`);
    }
    if (format === "docker" && f.values["skip-non-distributable"]) {
      throw new UsageError("--skip-non-distributable is for --format oci");
    }
    if (format === "docker" && f.values["keep-index"]) {
      throw new UsageError("--keep-index is for --format oci");
    }
    const platforms = platformsOf(f.values);
    if (f.values["keep-index"] && platforms.length === 0) {
      throw new UsageError("--keep-index only makes sense with --platform");
    }
    const toStdout = output === "-";
    if (toStdout && f.values.json) {
      throw new UsageError("--json needs -o FILE (stdout is the archive)");
    }
    if (toStdout) refuseTerminal(io, "a tar archive");
    if (!toStdout && !f.values.force && (await outputKind(output)) === "file") {
      throw new AlreadyExistsError(
        `Cannot export to ${output}: it exists; use --force to replace it`,
      );
    }
    const store = await openStoreForReading(f.values, io);
    const unregisterStore = atInterrupt(() => removeOwnStoreFiles(storeDir(f.values, io)));
    try {
      const warnings: string[] = [];
      const plan = await planExport(store, f.positionals, {
        format: format as ExportFormat,
        platforms,
        keepIndex: !!f.values["keep-index"],
        skipNonDistributable: !!f.values["skip-non-distributable"],
        gzip: !!f.values.gzip,
        verify: !!f.values.verify,
        onWarning: (m) => warnings.push(m),
      });
      const progress = new Progress(io, "exporting", plan.size, { quiet: !!f.values.quiet });
      // Counting bytes costs a pass through JS; only a visible progress bar pays for it.
      const writeOptions = progress.visible ? { onProgress: (n: number) => progress.set(n) } : {};
      if (toStdout) {
        await plan.stream(writeOptions).pipeTo(io.stdout, { preventClose: true });
      } else {
        await writeFileAtomically(
          output,
          (file) => writeArchiveFile(store, plan, { ...writeOptions, file }),
          { force: !!f.values.force, atInterrupt },
        );
      }
      progress.end();
      if (f.values.json) {
        io.out(json({
          output,
          format: plan.format,
          images: plan.images,
          blobs: plan.blobs.length,
          size: plan.size,
          gzip: !!f.values.gzip,
          ...(plan.notes.length ? { notes: plan.notes } : {}),
          ...(warnings.length ? { warnings } : {}),
        }));
      } else if (!f.values.quiet) {
        for (const w of warnings) io.err(`warning: ${w}\n`);
        for (const n of plan.notes) io.err(`note: ${n}\n`);
        io.err(
          `exported ${count(plan.images.length, "image")} (${
            plan.images.map((i) => i.name).join(", ")
          }), ${count(plan.blobs.length, "blob")}, ${
            formatBytes(plan.size)
          } ${plan.format} archive${f.values.gzip ? " (gzip)" : ""}${
            toStdout ? "" : ` to ${output}`
          }\n`,
        );
      }
      return 0;
    } finally {
      unregisterStore();
      await store.close();
    }
  },
};
