/**
 * `lading export`: names → oci-archive or docker archive, to a file (written under a
 * temporary name and renamed into place only when complete) or to stdout.
 * @module
 */
import { randomHex } from "../digest.ts";
import { AlreadyExistsError } from "../errors.ts";
import { type ExportFormat, planExport } from "../export/mod.ts";
import { writeArchiveFile } from "../deno/export_file.ts";
import { exists } from "../store/fs_files.ts";
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

/**
 * Runs `write` into a temporary file next to `path` (it must close the file),
 * then renames the file into place. Without `force` an existing `path` is never replaced
 * (checked again at the moment of the rename). On failure or Ctrl-C the temporary file
 * is removed and `path` is untouched.
 */
export async function writeFileAtomically(
  path: string,
  write: (file: Deno.FsFile) => Promise<void>,
  options: { force?: boolean } = {},
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const base = path.slice(slash + 1);
  const tmp = `${dir}.${base}.lading-${Deno.pid}-${randomHex(6)}.tmp`;
  const cleanup = () => {
    try {
      Deno.removeSync(tmp);
    } catch {
      // already gone
    }
  };
  const onSignal = () => {
    cleanup();
    Deno.exit(130);
  };
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    await write(file);
    if (options.force) {
      await Deno.rename(tmp, path);
    } else {
      try {
        await Deno.link(tmp, path); // never replaces
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) {
          throw new AlreadyExistsError(
            `Cannot export to ${path}: it appeared while the archive was written; use --force to replace it`,
          );
        }
        if (await exists(path)) {
          throw new AlreadyExistsError(`Cannot export to ${path}: it exists; use --force`);
        }
        await Deno.rename(tmp, path); // file systems without hard links
      }
      cleanup();
    }
  } catch (e) {
    try {
      file.close();
    } catch {
      // closed by write
    }
    cleanup();
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

/** The export command. */
export const exportCommand: Command = {
  path: ["export"],
  summary: "write images to an oci-archive (default) or a docker archive",
  usage:
    "lading export [--platform P]... [--format oci|docker] [--keep-index] [--skip-non-distributable]\n" +
    "       [--gzip] [--verify] [--force] [--json] [--store DIR] -o <FILE | -> <name>...\n\n" +
    "  --platform P             only this platform's content (repeatable); an index that loses\n" +
    "                           entries is rewritten to list only the kept ones, and says so\n" +
    "  --keep-index             with --platform: keep the original index (a partial archive,\n" +
    "                           like 'ctr export'; import it with --allow-missing)\n" +
    "  --format docker          a 'docker save' archive (one platform per image)\n" +
    "  --skip-non-distributable leave out foreign/non-distributable layers\n" +
    "  --gzip                   compress the archive with gzip\n" +
    "  --verify                 re-hash every blob while writing\n" +
    "  --force                  replace FILE when it exists\n" +
    "  -o -                     write to stdout",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, {
      string: ["format", "output"],
      multiple: ["platform"],
      boolean: ["skip-non-distributable", "gzip", "force", "json", "keep-index", "verify"],
      short: { o: "output" },
    });
    if (f.positionals.length === 0) throw new UsageError("export needs at least one image name");
    const output = f.values.output as string | undefined;
    if (output === undefined || output === "") {
      throw new UsageError("export needs -o FILE (or -o - for stdout)");
    }
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
    if (!toStdout && !f.values.force && await exists(output)) {
      throw new AlreadyExistsError(
        `Cannot export to ${output}: it exists; use --force to replace it`,
      );
    }
    const store = await openStore(f.values, io);
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
      const progress = new Progress(io, "exporting", plan.size);
      let last = 0;
      // Counting bytes costs a pass through JS; only a visible progress bar pays for it.
      const writeOptions = io.stderrIsTerminal
        ? {
          onProgress: (n: number) => {
            progress.add(n - last);
            last = n;
          },
        }
        : {};
      if (toStdout) {
        await plan.stream(writeOptions).pipeTo(io.stdout, { preventClose: true });
      } else {
        await writeFileAtomically(
          output,
          (file) => writeArchiveFile(plan, store, file, writeOptions),
          {
            force: !!f.values.force,
          },
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
      } else {
        for (const w of warnings) io.err(`warning: ${w}\n`);
        for (const n of plan.notes) io.err(`note: ${n}\n`);
        io.err(
          `exported ${plan.images.length} image${plan.images.length === 1 ? "" : "s"} (${
            plan.images.map((i) => i.name).join(", ")
          }), ${plan.blobs.length} blobs, ${formatBytes(plan.size)} ${plan.format} archive${
            f.values.gzip ? " (gzip)" : ""
          }${toStdout ? "" : ` to ${output}`}\n`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
