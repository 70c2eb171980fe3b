/**
 * `lading images check` (per image: content present per platform, every blob re-hashed;
 * `--diff-ids` also decompresses layers) and `lading content verify` (every blob in the
 * store re-hashed). Both exit 1 when anything is wrong and say exactly what.
 * @module
 */
import { type BlobProblem, checkImages, type ImageCheck, verifyContent } from "../check.ts";
import { findImage } from "../image.ts";
import type { DiffIdReport } from "../layers/diff_ids.ts";
import { FsStore } from "../store/fs.ts";
import { fsHashing } from "../deno/fs_hashing.ts";
import type { ImageRecord } from "../store/types.ts";
import {
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
  UsageError,
} from "./common.ts";
import { openStoreForReading } from "./store_open.ts";

function problemLine(p: BlobProblem): string {
  return `${p.kind}: ${p.message}`;
}

/** Problem lines and manifests printed per image; the rest is counted (`--json` lists all). */
const SHOWN = 10;

function printImage(c: ImageCheck, io: CliIO, sameAs?: string): void {
  const state = c.ok ? "ok" : c.complete ? "CORRUPT" : "INCOMPLETE";
  // Names of one target share one check: its details are printed once, under the first.
  const same = sameAs === undefined ? "" : `, the same content as ${sameAs} above`;
  io.out(
    `${c.name}  ${c.digest}  ${state} (${count(c.platforms.length, "manifest")}, ${
      count(c.blobs, "blob")
    }, ${formatBytes(c.bytes)}${c.verified ? " re-hashed" : ""}${same})\n`,
  );
  if (sameAs !== undefined) return;
  let lines = 0;
  let hidden = 0;
  const line = (text: string) => {
    if (lines < SHOWN) io.out(text);
    else hidden++;
    lines++;
  };
  const attributed = new Set<string>();
  const width = Math.max(22, ...c.platforms.map((p) => p.platform.length));
  for (const p of c.platforms) {
    const status = p.problems.length === 0 ? "ok" : p.complete ? "corrupt" : "incomplete";
    if (c.platforms.length <= SHOWN || p.problems.length) {
      line(`  ${p.platform.padEnd(width)} ${p.manifest}  ${status}\n`);
    }
    for (const pr of p.problems) {
      attributed.add(pr.digest);
      line(`    ${problemLine(pr)}\n`);
    }
  }
  for (const pr of c.problems) if (!attributed.has(pr.digest)) line(`  ${problemLine(pr)}\n`);
  if (hidden) {
    io.out(
      `  ... ${count(hidden, "more line")} (${
        count(c.problems.length, "problem")
      } in all; --json lists every one)\n`,
    );
  }
  const foreign = c.foreign.slice(0, SHOWN);
  for (const d of foreign) io.out(`  note: non-distributable layer ${d} is absent (allowed)\n`);
  if (c.foreign.length > SHOWN) {
    io.out(`  note: ${c.foreign.length - SHOWN} more non-distributable layers are absent\n`);
  }
  // A platform-filtered import or pull leaves the other platforms' manifests out on purpose.
  const whole = c.platforms.filter((p) => p.complete && !p.platform.startsWith("attestation"));
  const absent = c.platforms.filter((p) => p.problems.some((pr) => pr.digest === p.manifest));
  if (!c.complete && whole.length && absent.length) {
    io.out(
      `  hint: only some platforms were imported; check those with --platform ${
        whole.map((p) => p.platform).join(",")
      }\n`,
    );
  }
  if (c.skippedPlatforms.length) {
    const shown = c.skippedPlatforms.slice(0, SHOWN).join(", ");
    const more = c.skippedPlatforms.length - SHOWN;
    io.out(`  not checked (other platforms): ${shown}${more > 0 ? ` and ${more} more` : ""}\n`);
  }
}

/** `images check`. */
export const imagesCheck: Command = {
  path: ["images", "check"],
  summary: "check images: all content present (per platform), every blob re-hashed",
  args: "[name...]",
  details: "Without names, every image in the store, and the entries of its index.json that\n" +
    "have no name (shown as '(no name) <digest>'; --json: \"name\": null).\n" +
    "An image imported with --platform\n" +
    "passes when checked with the same --platform: the other platforms' content was\n" +
    "deliberately not imported (as containerd's check with a platform) and is listed as\n" +
    "not checked.",
  flags: [
    {
      name: "platform",
      kind: "multiple",
      value: "P",
      help: "check only this platform of multi-platform images (others are listed, not required)",
    },
    { name: "quick", help: "presence and sizes only, no re-hashing" },
    {
      name: "diff-ids",
      help: "also decompress every layer and compare with the config's diff_ids",
    },
    JSON_FLAG,
    QUIET_FLAG,
  ],
  examples: [
    "lading images check",
    "lading images check --platform linux/arm64 example.com/app:1",
    "lading images check --diff-ids busybox",
  ],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, imagesCheck);
    const platforms = platformsOf(f.values);
    if (platforms.length > 1 && f.values["diff-ids"]) {
      throw new UsageError("--diff-ids takes at most one --platform");
    }
    const store = await openStoreForReading(f.values, io);
    try {
      let records: ImageRecord[];
      let unnamed = 0;
      if (f.positionals.length) {
        records = [];
        for (const n of f.positionals) records.push(await findImage(store, n));
      } else {
        // Entries without a name are content like any other: checked too, by digest.
        const entries = (await store.listUnnamedImages?.()) ?? [];
        const loose = entries.map((target) => ({
          name: `(no name)`,
          target,
        }));
        records = [...await store.listImages(), ...loose];
        unnamed = loose.length;
      }
      const isUnnamed = (i: number) => i >= records.length - unnamed;
      // A total (for the time left) when every image is checked: the bytes of the store's
      // blobs, about what the check re-hashes.
      let total: number | undefined;
      if (io.stderrIsTerminal && !f.values.quiet && !f.values.quick && !f.positionals.length) {
        total = 0;
        for await (const b of store.list()) total += b.size;
      }
      const progress = new Progress(io, "checking", total, { quiet: !!f.values.quiet });
      let last = 0;
      const results = await checkImages(store, records, {
        verify: !f.values.quick,
        platforms,
        onProgress: (n) => {
          progress.add(n - last);
          last = n;
        },
      });
      progress.end();
      const diffIds: DiffIdReport[] = [];
      const diffIdText: string[] = [];
      if (f.values["diff-ids"]) {
        // Loaded only when asked: the layer readers would cost every check's start-up.
        const { checkDiffIds, formatDiffIdReport } = await import("./check_diff_ids.ts");
        for (const [i, r] of records.entries()) {
          const which = isUnnamed(i) ? r.target.digest : r.name;
          const report = await checkDiffIds(store, which, { platform: platforms[0] });
          diffIds.push(report);
          diffIdText.push(formatDiffIdReport(report));
        }
      }
      const ok = results.every((r) => r.ok) && diffIds.every((d) => d.ok);
      if (f.values.json) {
        io.out(json({
          ok,
          images: results.map((r, i) => (isUnnamed(i) ? { ...r, name: null } : r)),
          ...(f.values["diff-ids"] ? { diffIds } : {}),
        }));
      } else {
        if (results.length === 0) io.out("no images in the store\n");
        const printed = new Map<readonly unknown[], string>();
        for (const r of results) {
          printImage(r, io, printed.get(r.platforms));
          if (!printed.has(r.platforms)) printed.set(r.platforms, r.name);
        }
        for (const text of diffIdText) io.out(text);
      }
      if (!ok) {
        const bad = results.filter((r) => !r.ok).length +
          diffIds.filter((d) => !d.ok).length;
        io.err(`lading: ${count(bad, "problem image")} found\n`);
      }
      return ok ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};

/** `content verify`. */
export const contentVerify: Command = {
  path: ["content", "verify"],
  summary: "re-hash every blob in the store",
  args: "",
  complete: "none",
  flags: [JSON_FLAG, QUIET_FLAG],
  examples: ["lading content verify"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, contentVerify);
    if (f.positionals.length) throw new UsageError("content verify takes no arguments");
    const store = await openStoreForReading(f.values, io);
    // Every core hashes (the fs store's worker pool).
    const hashing = store instanceof FsStore ? fsHashing(store) : undefined;
    try {
      let progress: Progress | undefined;
      let last = 0;
      const report = await verifyContent(store, {
        hashing,
        onProgress: (n, total) => {
          progress ??= new Progress(io, "verifying", total, { quiet: !!f.values.quiet });
          progress.add(n - last);
          last = n;
        },
      });
      progress?.end();
      if (f.values.json) {
        io.out(json({ ok: report.problems.length === 0, ...report }));
      } else {
        for (const p of report.problems) io.out(`${problemLine(p)}\n`);
        if (!f.values.quiet || report.problems.length) {
          io.err(
            `${count(report.blobs, "blob")}, ${formatBytes(report.bytes)} re-hashed: ${
              report.problems.length === 0
                ? "all match their digests"
                : `${report.problems.length} do not match (remove them with 'lading content rm --force')`
            }\n`,
          );
        }
      }
      return report.problems.length === 0 ? 0 : 1;
    } finally {
      hashing?.close();
      await store.close();
    }
  },
};
