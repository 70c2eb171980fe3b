/**
 * Import benchmark: `lading import` of an oci-archive, and of the same image as an OCI
 * layout folder, against the floor (`cp` of the archive plus `openssl dgst -sha256` of it)
 * and against `skopeo copy oci-archive: oci:`, plus the peak RSS of `lading import` on a
 * 1 GiB archive.
 *
 * Every timing is the wall time of fresh processes, the median of several runs, with a
 * warm page cache (each tool reads the archive once untimed first). lading runs as a user
 * runs it: `deno run -A cli.ts import --store <fresh dir> <archive>` from the repo root.
 *
 * Goals (issue 2): import ≤ 2.0× floor, re-import ≤ 1.5× floor, peak RSS ≤ 120 MiB.
 *
 * ```sh
 * deno run -A bench/import.ts [workDir]     # or: deno task bench import
 * ```
 * @module
 */
import { type BenchImage, type BenchResult, makeBenchImage } from "./make_image.ts";

/** The repository root (bench/..). */
export const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CLI = `${REPO_ROOT}/cli.ts`;

/** Options for {@link benchImport}. */
export interface BenchImportOptions {
  /** The ~120 MB image (built / reused under workDir when absent). */
  image?: BenchImage;
  /** Timed runs per measurement (median reported; default 3, or $LADING_BENCH_RUNS). */
  runs?: number;
  /** Skip the 1 GiB peak-RSS measurement (or set $LADING_BENCH_NO_GIB=1). */
  skipGib?: boolean;
  /** Log progress to stderr (default true). */
  verbose?: boolean;
}

interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
}

const dec = new TextDecoder();

function log(verbose: boolean, msg: string): void {
  if (verbose) console.error(`[import] ${msg}`);
}

/** Runs a command to completion and returns its wall time; throws if it fails. */
export async function timed(cmd: string, args: string[], cwd = REPO_ROOT): Promise<Timed> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const seconds = (performance.now() - t0) / 1000;
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${out.code}:\n${stderr}${stdout}`);
  }
  return { seconds, stdout, stderr };
}

/** The median of some values. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Removes `dir` (if any) and returns it. */
export async function fresh(dir: string): Promise<string> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return dir;
}

/** Peak RSS (MiB), wall time and CPU time (user + sys) of a command, via `/usr/bin/time -v`. */
export async function peakRss(
  cmd: string,
  args: string[],
  workDir: string,
): Promise<{ mib: number; seconds: number; cpuSeconds: number; stderr: string }> {
  const report = `${workDir}/time-v.txt`;
  const t = await timed("/usr/bin/time", ["-v", "-o", report, cmd, ...args]);
  const text = await Deno.readTextFile(report);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  if (!m) throw new Error(`no "Maximum resident set size" in ${report}:\n${text}`);
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(text)?.[1] ?? NaN);
  const sys = Number(/System time \(seconds\): ([\d.]+)/.exec(text)?.[1] ?? NaN);
  return { mib: Number(m[1]) / 1024, seconds: t.seconds, cpuSeconds: user + sys, stderr: t.stderr };
}

async function ensureGnuTime(verbose: boolean): Promise<boolean> {
  try {
    await Deno.stat("/usr/bin/time");
    return true;
  } catch {
    log(verbose, "/usr/bin/time missing: apt-get install -y time");
    try {
      await timed("apt-get", ["install", "-y", "time"]);
      return true;
    } catch (e) {
      log(verbose, `could not install time: ${(e as Error).message.split("\n")[0]}`);
      return false;
    }
  }
}

/** The floor: copy the archive and sha256 it; returns the summed wall time. */
async function floorOnce(archive: string, copyTo: string): Promise<number> {
  await fresh(copyTo);
  const cp = await timed("cp", [archive, copyTo]);
  const dg = await timed("openssl", ["dgst", "-sha256", archive]);
  await Deno.remove(copyTo).catch(() => {});
  return cp.seconds + dg.seconds;
}

function ladingArgs(store: string, archive: string): string[] {
  return ["run", "-A", CLI, "import", "--store", store, archive];
}

function addedOf(stderr: string): { added: number; present: number } | undefined {
  const m = /blobs: (\d+) added, (\d+) present/.exec(stderr);
  return m ? { added: Number(m[1]), present: Number(m[2]) } : undefined;
}

/**
 * Runs the import benchmark.
 *
 * @returns rows for the table in bench/run.ts: the floor, skopeo, lading import,
 *   re-import, and peak RSS on a 1 GiB archive.
 */
export async function benchImport(
  workDir: string,
  options: BenchImportOptions = {},
): Promise<BenchResult[]> {
  const verbose = options.verbose ?? true;
  const runs = options.runs ?? Number(Deno.env.get("LADING_BENCH_RUNS") ?? 3);
  const image = options.image ?? await makeBenchImage(workDir, { verbose });
  const { archive } = image;
  const mb = (image.bytes / 1e6).toFixed(1);
  const scratch = `${workDir}/import-runs`;
  await Deno.mkdir(scratch, { recursive: true });
  const deno = Deno.execPath();
  const results: BenchResult[] = [];

  // Warm the page cache and Deno's module cache (npm deps, transpiled TS) untimed.
  log(verbose, `warming up on ${archive} (${mb} MB)`);
  await floorOnce(archive, `${scratch}/floor-copy`);
  const warmStore = await fresh(`${scratch}/warm-store`);
  await timed(deno, ladingArgs(warmStore, archive));
  await fresh(warmStore);

  // Floor.
  const floors: number[] = [];
  for (let i = 0; i < runs; i++) floors.push(await floorOnce(archive, `${scratch}/floor-copy`));
  const floor = median(floors);
  log(verbose, `floor (cp + openssl dgst -sha256): ${fmtRuns(floors)}`);

  // skopeo.
  let skopeo: number | undefined;
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dest = await fresh(`${scratch}/skopeo-${i}`);
      const t = await timed("skopeo", [
        "copy",
        "-q",
        `oci-archive:${archive}`,
        `oci:${dest}:bench`,
      ]);
      times.push(t.seconds);
      await fresh(dest);
    }
    skopeo = median(times);
    log(verbose, `skopeo copy oci-archive: oci:: ${fmtRuns(times)}`);
  } catch (e) {
    log(verbose, `skopeo skipped: ${(e as Error).message.split("\n")[0]}`);
  }

  // lading import into a fresh store, then re-import into the same store; and the same
  // image as an OCI layout folder into another fresh store (interleaved run by run).
  const imports: number[] = [];
  const reimports: number[] = [];
  const folderImports: number[] = [];
  let counts = "";
  for (let i = 0; i < runs; i++) {
    const folderStore = await fresh(`${scratch}/lading-folder-${i}`);
    folderImports.push((await timed(deno, ladingArgs(folderStore, image.layoutDir))).seconds);
    await fresh(folderStore);
    const store = await fresh(`${scratch}/lading-${i}`);
    const t = await timed(deno, ladingArgs(store, archive));
    imports.push(t.seconds);
    const first = addedOf(t.stderr);
    const r = await timed(deno, ladingArgs(store, archive));
    reimports.push(r.seconds);
    const again = addedOf(r.stderr);
    if (again && again.added !== 0) {
      throw new Error(`re-import added ${again.added} blobs (expected 0):\n${r.stderr}`);
    }
    counts = `first: ${first?.added ?? "?"} added; again: ${again?.added ?? "?"} added, ${
      again?.present ?? "?"
    } present`;
    await fresh(store);
  }
  const lading = median(imports);
  const reimport = median(reimports);
  log(verbose, `lading import: ${fmtRuns(imports)} (${counts})`);
  log(verbose, `lading re-import: ${fmtRuns(reimports)}`);
  const folder = median(folderImports);
  log(verbose, `lading import of the layout folder: ${fmtRuns(folderImports)}`);

  results.push({
    name: `floor: cp + openssl dgst -sha256 (${mb} MB)`,
    value: floor,
    reference: floor,
    ratio: 1,
    unit: "s",
    referenceName: "floor",
  });
  if (skopeo !== undefined) {
    results.push({
      name: "skopeo copy oci-archive: → oci: (peer)",
      value: skopeo,
      reference: floor,
      ratio: skopeo / floor,
      unit: "s",
      referenceName: "floor",
    });
  }
  results.push({
    name: `lading import (${mb} MB oci-archive)`,
    value: lading,
    reference: floor,
    ratio: lading / floor,
    unit: "s",
    referenceName: "floor",
    goal: 2.0,
    note: skopeo !== undefined ? `${(lading / skopeo).toFixed(2)}× skopeo` : undefined,
  });
  results.push({
    name: `lading import (the same image as an OCI layout folder)`,
    value: folder,
    reference: floor,
    ratio: folder / floor,
    unit: "s",
    referenceName: "floor",
    note: "informational: each blob read and hashed once, as from the archive",
  });
  results.push({
    name: "lading re-import (nothing new)",
    value: reimport,
    reference: floor,
    ratio: reimport / floor,
    unit: "s",
    referenceName: "floor",
    goal: 1.5,
  });

  // Peak RSS on a 1 GiB archive.
  const skipGib = options.skipGib ?? Deno.env.get("LADING_BENCH_NO_GIB") === "1";
  if (!skipGib && await ensureGnuTime(verbose)) {
    const big = await makeBenchImage(workDir, { targetBytes: 1 << 30, verbose });
    const gib = (big.bytes / 2 ** 30).toFixed(2);
    log(verbose, `peak RSS on ${big.archive} (${gib} GiB)`);
    await floorOnce(big.archive, `${scratch}/floor-copy`); // warm the page cache
    const bigFloor = await floorOnce(big.archive, `${scratch}/floor-copy`);
    const rss: number[] = [];
    const secs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const store = await fresh(`${scratch}/lading-gib`);
      const r = await peakRss(deno, ladingArgs(store, big.archive), scratch);
      rss.push(r.mib);
      secs.push(r.seconds);
      await fresh(store);
    }
    let skopeoRss: number | undefined;
    try {
      const dest = await fresh(`${scratch}/skopeo-gib`);
      skopeoRss = (await peakRss(
        "skopeo",
        ["copy", "-q", `oci-archive:${big.archive}`, `oci:${dest}:bench`],
        scratch,
      ))
        .mib;
      await fresh(dest);
    } catch (e) {
      log(verbose, `skopeo RSS skipped: ${(e as Error).message.split("\n")[0]}`);
    }
    log(
      verbose,
      `lading peak RSS: ${rss.map((v) => v.toFixed(1)).join(", ")} MiB; time ${fmtRuns(secs)}; ` +
        `floor ${bigFloor.toFixed(2)} s; skopeo RSS ${skopeoRss?.toFixed(1) ?? "-"} MiB`,
    );
    const peak = Math.max(...rss); // a ceiling: the worst run counts
    results.push({
      name: `lading import peak RSS (${gib} GiB archive)`,
      value: peak,
      reference: skopeoRss ?? 120,
      ratio: peak / (skopeoRss ?? 120),
      unit: "MiB",
      referenceName: skopeoRss !== undefined ? "skopeo copy" : "120 MiB budget",
      goal: { max: 120, of: "value" },
      note: `worst of ${rss.length} runs`,
    });
    const bigTime = median(secs);
    results.push({
      name: `lading import (${gib} GiB archive, uncompressed layers)`,
      value: bigTime,
      reference: bigFloor,
      ratio: bigTime / bigFloor,
      unit: "s",
      referenceName: "floor",
      note: "informational (floor: 1 run)",
    });
  }
  await Deno.remove(scratch, { recursive: true }).catch(() => {});
  return results;
}

/** "a, b, c s (median m)" for a log line. */
export function fmtRuns(values: number[]): string {
  return `${values.map((v) => v.toFixed(2)).join(", ")} s (median ${median(values).toFixed(2)})`;
}

if (import.meta.main) {
  const workDir = Deno.args[0] ?? Deno.env.get("LADING_BENCH_DIR") ?? "/tmp/lading-bench";
  const { printTable } = await import("./run.ts");
  printTable(await benchImport(workDir));
}
