/**
 * Export and verify benchmark (issue 5): `lading export` of the ≥100 MB benchmark image to
 * a file against `cp` of the same bytes, and `lading content verify` against
 * `openssl dgst -sha256` over the store's blobs. Goals: both ≤ 1.5×.
 *
 * Every timing is the wall time of a fresh process (lading as a user runs it:
 * `deno run -A cli.ts ...` from the repo root), the median of several interleaved runs
 * with a warm page cache. Informational rows give the same work in-process (no Deno
 * start-up) and the start-up itself, so the two parts of the ratio can be told apart.
 *
 * ```sh
 * deno run -A bench/export.ts [workDir] [--archive image.tar] [--bytes N] [--runs N]
 * ```
 * @module
 */
import { planExport } from "../src/export/mod.ts";
import { writeArchiveFile } from "../src/deno/export_file.ts";
import { verifyContent } from "../src/check.ts";
import { openFsStore } from "../src/store/fs.ts";
import { fsHashing } from "../src/deno/fs_hashing.ts";
import { BENCH_NAME, type BenchImage, type BenchResult, makeBenchImage } from "./make_image.ts";

/** The repository root (bench/..). */
const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dec = new TextDecoder();

/** Options of {@link benchExport}. */
export interface BenchExportOptions {
  /** The benchmark image (built / reused under workDir when absent). */
  image?: BenchImage;
  /** An archive to use instead (its first image name is exported). */
  archive?: string;
  /** Size of the image to build when neither `image` nor `archive` is given (default 120 MB). */
  targetBytes?: number;
  /** Timed runs per measurement (median; default 5, or $LADING_BENCH_RUNS). */
  runs?: number;
  /** Log progress to stderr (default true). */
  verbose?: boolean;
}

function log(verbose: boolean, msg: string): void {
  if (verbose) console.error(`[export] ${msg}`);
}

async function timed(cmd: string, args: string[]): Promise<{ seconds: number; stdout: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${out.code}:\n${dec.decode(out.stderr)}`,
    );
  }
  return { seconds, stdout: dec.decode(out.stdout) };
}

function lading(args: string[]) {
  return timed(Deno.execPath(), ["run", "-A", `${REPO_ROOT}/cli.ts`, ...args]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

function row(
  name: string,
  value: number,
  reference: number,
  referenceName: string,
  extra: Partial<BenchResult> = {},
): BenchResult {
  return { name, value, reference, ratio: value / reference, unit: "s", referenceName, ...extra };
}

/**
 * Runs the export benchmark; returns one row per measurement.
 *
 * @example
 * ```ts ignore
 * import { benchExport } from "./export.ts";
 * for (const r of await benchExport("/tmp/lading-bench")) console.log(r.name, r.ratio);
 * ```
 */
export async function benchExport(
  workDir: string,
  options: BenchExportOptions = {},
): Promise<BenchResult[]> {
  const verbose = options.verbose ?? true;
  const runs = options.runs ?? (Number(Deno.env.get("LADING_BENCH_RUNS")) || 5);
  await Deno.mkdir(workDir, { recursive: true });
  const work = `${await Deno.realPath(workDir)}/export-bench`;
  await Deno.mkdir(work, { recursive: true });
  let archive = options.archive;
  let name = BENCH_NAME;
  if (!archive) {
    const image = options.image ??
      await makeBenchImage(workDir, { targetBytes: options.targetBytes, verbose });
    archive = image.archive;
  }
  const store = `${work}/store`;
  const stamp = `${work}/imported-from`;
  const previous = await Deno.readTextFile(stamp).catch(() => "");
  if (previous.split("\n")[0] !== archive) {
    log(verbose, `importing ${archive} into ${store}`);
    await Deno.remove(store, { recursive: true }).catch(() => {});
    const r = await lading(["import", "--json", "--store", store, archive]);
    name = JSON.parse(r.stdout).images[0].name;
    await Deno.writeTextFile(stamp, `${archive}\n${name}\n`);
  } else name = previous.split("\n")[1];

  const out = `${work}/out.tar`;
  const copy = `${work}/copy.tar`;
  const blobs: string[] = [];
  for await (const e of Deno.readDir(`${store}/blobs/sha256`)) {
    if (e.isFile) blobs.push(`${store}/blobs/sha256/${e.name}`);
  }
  blobs.sort();
  let storeBytes = 0;
  for (const b of blobs) storeBytes += (await Deno.stat(b)).size;

  const exportCli = async () => {
    await removeQuietly(out);
    return (await lading(["export", "--store", store, "-o", out, name])).seconds;
  };
  const cp = async () => {
    await removeQuietly(copy);
    return (await timed("cp", [out, copy])).seconds;
  };
  const verifyCli = async () => (await lading(["content", "verify", "--store", store])).seconds;
  const openssl = async () => (await timed("openssl", ["dgst", "-sha256", ...blobs])).seconds;
  const startup = async () => (await lading(["help"])).seconds;
  // The least a Deno program can do for the same bytes: concatenate the blob files with
  // synchronous 1 MiB reads and writes (no tar headers, no store, no checks). What a fresh
  // `deno run` costs on top of the copy itself, measured rather than guessed.
  const floorScript = `${work}/deno_floor.ts`;
  await Deno.writeTextFile(
    floorScript,
    `const [out, ...inputs] = Deno.args;
const o = Deno.openSync(out, { write: true, createNew: true });
const buf = new Uint8Array(1 << 20);
for (const p of inputs) {
  const f = Deno.openSync(p);
  for (let n; (n = f.readSync(buf)) !== null;) {
    let d = 0;
    while (d < n) d += o.writeSync(buf.subarray(d, n));
  }
  f.close();
}
o.close();
`,
  );
  const denoFloor = async () => {
    await removeQuietly(copy);
    return (await timed(Deno.execPath(), ["run", "-A", floorScript, copy, ...blobs])).seconds;
  };
  const fs = await openFsStore(store);
  const exportInProcess = async () => {
    await removeQuietly(out);
    const t0 = performance.now();
    const plan = await planExport(fs, [name]);
    const file = await Deno.open(out, { write: true, createNew: true });
    await writeArchiveFile(fs, plan, { file });
    return (performance.now() - t0) / 1000;
  };
  const verifyInProcess = async () => {
    const t0 = performance.now();
    const hashing = fsHashing(fs); // as the CLI does: a worker pool, started per verify
    const r = await verifyContent(fs, { hashing }).finally(() => hashing.close());
    if (r.problems.length) throw new Error(`store problems: ${JSON.stringify(r.problems)}`);
    return (performance.now() - t0) / 1000;
  };

  log(verbose, `warming up (${name}, ${(storeBytes / 1e6).toFixed(0)} MB of blobs)`);
  const steps = [
    exportCli,
    cp,
    verifyCli,
    openssl,
    exportInProcess,
    verifyInProcess,
    startup,
    denoFloor,
  ];
  for (const s of steps) await s();
  const times = steps.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    log(verbose, `run ${i + 1}/${runs}`);
    for (const [k, s] of steps.entries()) {
      // Dirty pages of the previous step's output are written back first (untimed), so
      // no step pays for another's writeback (at 1 GiB it decides the order of the rows).
      await new Deno.Command("sync").output();
      times[k].push(await s());
    }
  }
  const [tExport, tCp, tVerify, tOpenssl, tExportIn, tVerifyIn, tStart, tFloor] = times.map(
    median,
  );
  const archiveBytes = (await Deno.stat(out)).size;
  await removeQuietly(out);
  await removeQuietly(copy);
  const mb = (archiveBytes / 1e6).toFixed(0);
  return [
    row(`export ${mb} MB to a file`, tExport, tCp, "cp of the same bytes", {
      goal: 1.5,
      note: `median of ${runs}, fresh processes`,
    }),
    row(
      `content verify ${(storeBytes / 1e6).toFixed(0)} MB`,
      tVerify,
      tOpenssl,
      "openssl dgst -sha256",
      {
        goal: 1.5,
        note: `median of ${runs}, fresh processes`,
      },
    ),
    row("export, in-process (no start-up)", tExportIn, tCp, "cp of the same bytes", {
      note: "planExport + writeArchiveFile",
    }),
    row("content verify, in-process (no start-up)", tVerifyIn, tOpenssl, "openssl dgst -sha256", {
      note: "verifyContent() with fsHashing()",
    }),
    row("lading start-up (lading help)", tStart, tCp, "cp of the export", {
      note: "included in both fresh-process rows",
    }),
    row("Deno floor: a minimal deno run copying the blobs", tFloor, tCp, "cp of the same bytes", {
      note: "the least any fresh Deno process takes for this copy",
    }),
    row("export against the Deno floor", tExport, tFloor, "minimal deno run copy", {
      note: "what lading adds over the least a Deno process can do",
    }),
  ];
}

if (import.meta.main) {
  const args = [...Deno.args];
  const take = (flag: string) => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const [, v] = args.splice(i, 2);
    return v;
  };
  const archive = take("--archive");
  const runs = take("--runs");
  const bytes = take("--bytes");
  const workDir = args[0] ?? Deno.env.get("LADING_BENCH_DIR") ?? "/tmp/lading-bench";
  const results = await benchExport(workDir, {
    archive,
    runs: runs ? Number(runs) : undefined,
    targetBytes: bytes ? Number(bytes) : undefined,
  });
  for (const r of results) {
    console.log(
      `${r.name.padEnd(42)} ${r.value.toFixed(3)} s   ${r.referenceName}: ${
        r.reference.toFixed(3)
      } s   ratio ${r.ratio.toFixed(2)}×${r.goal ? `   goal ≤ ${r.goal}×` : ""}`,
    );
  }
}
