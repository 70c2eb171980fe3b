/**
 * Registry benchmark, against Debian's `docker-registry` on loopback (no auth, plain http),
 * all ratios measured in one run:
 *
 * | row | lading | reference |
 * |---|---|---|
 * | pull | `lading pull --plain-http` into an empty store | `skopeo copy docker://… oci:<empty dir>` |
 * | floor | (informational) | `bench/registry_floor.ts`: fetch + node:crypto sha256 + write |
 * | floor variants | (informational) | the fetch alone; the streams in 2 worker threads; in the calling thread and 1 worker (lading's split on 2 cores) |
 * | re-pull | the same pull again, twice per run (must add no blob) | goal ≤ 0.2 s |
 * | re-pull CPU | user+sys of those re-pulls (GNU time) | `lading --version`'s |
 * | start-up | `images ls` / `images inspect` of the pulled store | `lading --version` |
 * | push | `lading push --plain-http` into an empty registry | `skopeo copy oci:<layout> docker://…` into an empty registry |
 * | second push | the same push again (must upload nothing) | the first push |
 * | peak RSS of the pull | `/usr/bin/time -v` | goal ≤ 120 MiB |
 *
 * Every timing is a fresh process, median of `$LADING_BENCH_RUNS` (default 3), the tools
 * interleaved run by run so they share the machine's state. The image is the ≥100 MB
 * benchmark image (`make_image.ts`), put into the registry by skopeo once (untimed).
 *
 * Goals (issue 10): pull ≤ 0.8× skopeo, re-pull ≤ 0.2 s with no blob, push ≤ 1.0×
 * skopeo, second push uploads nothing, peak RSS ≤ 120 MiB.
 *
 * ```sh
 * deno run -A bench/registry.ts [workDir]     # or: deno task bench registry
 * ```
 * @module
 */
import { fmtRuns, fresh, median, peakRss, REPO_ROOT, timed } from "./import.ts";
import { BENCH_REF, type BenchImage, type BenchResult, makeBenchImage } from "./make_image.ts";
import { type Registry, startRegistry } from "../tests/registry/_registry.ts";

/** Options for {@link benchRegistry}. */
export interface BenchRegistryOptions {
  image?: BenchImage;
  /** Timed runs per measurement (median; default 3, or $LADING_BENCH_RUNS). */
  runs?: number;
  verbose?: boolean;
}

const CLI = `${REPO_ROOT}/cli.ts`;
const REPO = "bench/image";
const TAG = "1";

function log(verbose: boolean, msg: string): void {
  if (verbose) console.error(`[registry] ${msg}`);
}

function lading(args: string[]): [string, string[]] {
  return [Deno.execPath(), ["run", "-A", CLI, ...args]];
}

/**
 * `timed` plus the process's CPU time (user + sys, GNU time's 10 ms resolution): on a
 * shared machine the CPU time of a short command moves far less than its wall time.
 */
async function timedWithCpu(
  [cmd, args]: [string, string[]],
  workDir: string,
): Promise<{ seconds: number; cpuSeconds: number; stdout: string }> {
  const report = `${workDir}/time-cpu.txt`;
  const t = await timed("/usr/bin/time", ["-f", "%U %S", "-o", report, cmd, ...args]);
  const [user, sys] = (await Deno.readTextFile(report)).trim().split("\n").at(-1)!.split(" ")
    .map(Number);
  return { seconds: t.seconds, cpuSeconds: user + sys, stdout: t.stdout };
}

/** Seeds `reg` with the bench layout under `repo:tag` using skopeo (untimed). */
async function seed(reg: Registry, layout: string, repo: string): Promise<void> {
  await timed("skopeo", [
    "copy",
    "-q",
    "--dest-tls-verify=false",
    `oci:${layout}:${BENCH_REF}`,
    `docker://${reg.host}/${repo}:${TAG}`,
  ]);
}

interface PullJson {
  blobs: { added: number; present: number; bytes: number };
}
interface PushJson {
  blobs: { uploaded: number; mounted: number; present: number; bytes: number };
}

/**
 * Runs the registry benchmark.
 *
 * @returns rows for bench/run.ts's table.
 */
export async function benchRegistry(
  workDir: string,
  options: BenchRegistryOptions = {},
): Promise<BenchResult[]> {
  const verbose = options.verbose ?? true;
  const runs = options.runs ?? Number(Deno.env.get("LADING_BENCH_RUNS") ?? 3);
  const image = options.image ?? await makeBenchImage(workDir, { verbose });
  const scratch = `${workDir}/registry-runs`;
  await Deno.mkdir(scratch, { recursive: true });
  const mb = (image.bytes / 1e6).toFixed(1);
  const results: BenchResult[] = [];

  await using reg = await startRegistry();
  await seed(reg, image.layoutDir, REPO);
  const ref = `${reg.host}/${REPO}:${TAG}`;
  log(verbose, `registry at ${reg.url}, ${ref} seeded by skopeo (${mb} MB image)`);

  const ladingPull = (store: string) =>
    timed(...lading(["pull", "--plain-http", "--json", "--store", store, ref]));
  const skopeoPull = (dest: string) =>
    timed("skopeo", [
      "copy",
      "-q",
      "--src-tls-verify=false",
      `docker://${ref}`,
      `oci:${dest}:bench`,
    ]);
  const floorPull = (dest: string, flags: string[] = []) =>
    timed(Deno.execPath(), [
      "run",
      "-A",
      `${REPO_ROOT}/bench/registry_floor.ts`,
      reg.url,
      REPO,
      TAG,
      dest,
      ...flags,
    ]);
  // Where the floor's time goes: the fetch alone, and the whole pull hashing on every core
  // (the streams in worker threads, with the calling thread idle or taking its share).
  const cores = navigator.hardwareConcurrency || 1;
  const variants: [string, string[]][] = [
    ["floor, fetch only (no hash, no write)", ["--hash", "none", "--write", "none"]],
    [`floor, ${cores} worker threads`, ["--workers", String(cores)]],
    [`floor, calling thread + ${Math.max(1, cores - 1)} worker`, [
      "--workers",
      String(Math.max(1, cores - 1)),
      "--main-too",
    ]],
  ];
  const variantTimes = variants.map(() => [] as number[]);

  // Warm up: module caches, the registry's page cache.
  log(verbose, "warming up");
  await ladingPull(await fresh(`${scratch}/warm-store`));
  await skopeoPull(await fresh(`${scratch}/warm-skopeo`));
  await floorPull(await fresh(`${scratch}/warm-floor`));
  for (const d of ["warm-store", "warm-skopeo", "warm-floor"]) await fresh(`${scratch}/${d}`);

  const pulls: number[] = [];
  const repulls: number[] = [];
  // Start-up of the commands around a re-pull, in the same runs (fresh processes): the bare
  // start-up (`--version`), and `images ls` / `images inspect` of the pulled store.
  const versions: number[] = [];
  const lists: number[] = [];
  const inspects: number[] = [];
  const repullCpu: number[] = [];
  const versionCpu: number[] = [];
  const skopeos: number[] = [];
  const floors: number[] = [];
  let pullCounts = "";
  for (let i = 0; i < runs; i++) {
    const store = await fresh(`${scratch}/store-${i}`);
    const p = await ladingPull(store);
    pulls.push(p.seconds);
    const first = JSON.parse(p.stdout) as PullJson;
    // Two re-pulls per run, the start-up rows in between (a re-pull is ~0.1 s: one sample
    // per run is mostly noise on a shared machine).
    let again: PullJson | undefined;
    for (let k = 0; k < 2; k++) {
      const r = await timedWithCpu(
        lading(["pull", "--plain-http", "--json", "--store", store, ref]),
        scratch,
      );
      repulls.push(r.seconds);
      repullCpu.push(r.cpuSeconds);
      again = JSON.parse(r.stdout) as PullJson;
      if (again.blobs.added !== 0) {
        throw new Error(`re-pull added ${again.blobs.added} blobs (expected 0)`);
      }
      if (k > 0) break;
      const v = await timedWithCpu(lading(["--version"]), scratch);
      versions.push(v.seconds);
      versionCpu.push(v.cpuSeconds);
      lists.push((await timed(...lading(["images", "ls", "--store", store]))).seconds);
      inspects.push((await timed(...lading(["images", "inspect", "--store", store, ref]))).seconds);
    }
    pullCounts = `first ${first.blobs.added} added; again ${again!.blobs.added} added, ${
      again!.blobs.present
    } present`;
    await fresh(store);
    const dest = await fresh(`${scratch}/skopeo-${i}`);
    skopeos.push((await skopeoPull(dest)).seconds);
    await fresh(dest);
    const fdest = await fresh(`${scratch}/floor-${i}`);
    floors.push((await floorPull(fdest)).seconds);
    await fresh(fdest);
    for (const [v, [, flags]] of variants.entries()) {
      variantTimes[v].push((await floorPull(fdest, flags)).seconds);
      await fresh(fdest);
    }
  }
  log(verbose, `lading pull: ${fmtRuns(pulls)} (${pullCounts})`);
  log(verbose, `lading re-pull: ${fmtRuns(repulls)}`);
  log(verbose, `lading re-pull CPU (user+sys): ${fmtRuns(repullCpu)}`);
  log(verbose, `lading --version: ${fmtRuns(versions)}; CPU ${fmtRuns(versionCpu)}`);
  log(verbose, `lading images ls: ${fmtRuns(lists)}; images inspect: ${fmtRuns(inspects)}`);
  log(verbose, `skopeo copy docker:// oci:: ${fmtRuns(skopeos)}`);
  log(verbose, `floor (fetch + sha256 + write): ${fmtRuns(floors)}`);
  const skopeo = median(skopeos);
  results.push({
    name: `registry pull (${mb} MB, loopback)`,
    value: median(pulls),
    reference: skopeo,
    ratio: median(pulls) / skopeo,
    referenceName: "skopeo copy docker:// oci:",
    goal: 0.8,
  });
  results.push({
    name: "registry pull floor (Deno fetch + sha256)",
    value: median(floors),
    reference: skopeo,
    ratio: median(floors) / skopeo,
    referenceName: "skopeo copy docker:// oci:",
    note: "what a minimal Deno puller costs",
  });
  for (const [v, [name]] of variants.entries()) {
    log(verbose, `${name}: ${fmtRuns(variantTimes[v])}`);
    results.push({
      name: `registry pull ${name}`,
      value: median(variantTimes[v]),
      reference: skopeo,
      ratio: median(variantTimes[v]) / skopeo,
      referenceName: "skopeo copy docker:// oci:",
      note: "where the floor's time goes",
    });
  }
  results.push({
    name: "registry re-pull (no blob)",
    value: median(repulls),
    reference: median(pulls),
    ratio: median(repulls) / median(pulls),
    referenceName: "first pull",
    goal: { max: 0.2, of: "value" },
  });
  results.push({
    name: "CPU time (user+sys) registry re-pull",
    value: median(repullCpu),
    reference: median(versionCpu),
    ratio: median(repullCpu) / median(versionCpu),
    referenceName: "lading --version",
    note: "steadier than the wall time on a shared machine",
  });
  for (const [name, times] of [["images ls", lists], ["images inspect", inspects]] as const) {
    results.push({
      name: `start-up: ${name} (the pulled store)`,
      value: median(times),
      reference: median(versions),
      ratio: median(times) / median(versions),
      referenceName: "lading --version",
      note: "whole process, fresh",
    });
  }

  // Push: a store with the image (imported once), into an empty registry each run.
  const src = await fresh(`${scratch}/push-source`);
  await timed(...lading(["import", "--store", src, image.archive]));
  const pushes: number[] = [];
  const secondPushes: number[] = [];
  const skopeoPushes: number[] = [];
  let pushCounts = "";
  for (let i = 0; i < runs; i++) {
    {
      await using empty = await startRegistry();
      const p = await timed(...lading([
        "push",
        "--plain-http",
        "--json",
        "--store",
        src,
        `${empty.host}/pushed:1`,
        `docker.io/library/${BENCH_REF}`,
      ]));
      pushes.push(p.seconds);
      const q = await timed(...lading([
        "push",
        "--plain-http",
        "--json",
        "--store",
        src,
        `${empty.host}/pushed:1`,
        `docker.io/library/${BENCH_REF}`,
      ]));
      secondPushes.push(q.seconds);
      const first = JSON.parse(p.stdout) as PushJson;
      const again = JSON.parse(q.stdout) as PushJson;
      if (again.blobs.uploaded !== 0) {
        throw new Error(`second push uploaded ${again.blobs.uploaded} blobs (expected 0)`);
      }
      pushCounts =
        `first ${first.blobs.uploaded} uploaded; again ${again.blobs.uploaded} uploaded, ${again.blobs.present} present`;
    }
    {
      await using empty = await startRegistry();
      const t = await timed("skopeo", [
        "copy",
        "-q",
        "--dest-tls-verify=false",
        `oci:${image.layoutDir}:${BENCH_REF}`,
        `docker://${empty.host}/pushed:1`,
      ]);
      skopeoPushes.push(t.seconds);
    }
  }
  await fresh(src);
  log(verbose, `lading push: ${fmtRuns(pushes)} (${pushCounts})`);
  log(verbose, `lading second push: ${fmtRuns(secondPushes)}`);
  log(verbose, `skopeo copy oci: docker://: ${fmtRuns(skopeoPushes)}`);
  results.push({
    name: `registry push (${mb} MB, empty registry)`,
    value: median(pushes),
    reference: median(skopeoPushes),
    ratio: median(pushes) / median(skopeoPushes),
    referenceName: "skopeo copy oci: docker://",
    goal: 1.0,
  });
  results.push({
    name: "registry second push (nothing uploaded)",
    value: median(secondPushes),
    reference: median(pushes),
    ratio: median(secondPushes) / median(pushes),
    referenceName: "first push",
    note: pushCounts,
  });

  // Peak RSS (worst of the runs) and CPU time (user + sys, median) of a pull into an empty
  // store, lading and skopeo interleaved; the floor's CPU time beside them.
  const rss: number[] = [];
  const cpu: number[] = [];
  const skopeoCpu: number[] = [];
  const floorCpu: number[] = [];
  let skopeoRss = 0;
  for (let i = 0; i < runs; i++) {
    const store = await fresh(`${scratch}/rss-store`);
    const [cmd, args] = lading(["pull", "--plain-http", "-q", "--store", store, ref]);
    const l = await peakRss(cmd, args, scratch);
    rss.push(l.mib);
    cpu.push(l.cpuSeconds);
    await fresh(store);
    const sk = await peakRss("skopeo", [
      "copy",
      "-q",
      "--src-tls-verify=false",
      `docker://${ref}`,
      `oci:${await fresh(`${scratch}/rss-skopeo`)}:bench`,
    ], scratch);
    skopeoRss = Math.max(skopeoRss, sk.mib);
    skopeoCpu.push(sk.cpuSeconds);
    await fresh(`${scratch}/rss-skopeo`);
    const fl = await peakRss(Deno.execPath(), [
      "run",
      "-A",
      `${REPO_ROOT}/bench/registry_floor.ts`,
      reg.url,
      REPO,
      TAG,
      await fresh(`${scratch}/cpu-floor`),
    ], scratch);
    floorCpu.push(fl.cpuSeconds);
    await fresh(`${scratch}/cpu-floor`);
  }
  log(verbose, `peak RSS of lading pull: ${rss.map((v) => v.toFixed(0)).join(", ")} MiB`);
  log(
    verbose,
    `CPU (user+sys) of the pull: lading ${fmtRuns(cpu)}, skopeo ${fmtRuns(skopeoCpu)}, floor ${
      fmtRuns(floorCpu)
    }`,
  );
  results.push({
    name: "CPU time (user+sys) registry pull",
    value: median(cpu),
    reference: median(skopeoCpu),
    ratio: median(cpu) / median(skopeoCpu),
    referenceName: "skopeo copy",
    note: `the floor (fetch + sha256 + write, one thread): ${median(floorCpu).toFixed(2)} s`,
  });
  results.push({
    name: "peak RSS registry pull",
    value: Math.max(...rss),
    reference: skopeoRss,
    ratio: Math.max(...rss) / skopeoRss,
    unit: "MiB",
    referenceName: "skopeo copy",
    goal: { max: 120, of: "value" },
  });
  return results;
}

if (import.meta.main) {
  const workDir = Deno.args[0] ?? Deno.env.get("LADING_BENCH_DIR") ?? "/tmp/lading-bench";
  const { printTable } = await import("./run.ts");
  printTable(await benchRegistry(workDir));
}
