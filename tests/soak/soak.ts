/**
 * The soak: `deno task soak [--kills N] [--rounds N] [--importers N] [--size MB] [--seed S]
 * [--report FILE] [--dir DIR] [--keep]`.
 *
 * 1. **Kills.** Generates (from the seed) an image of about `--size` MB of realistic
 *    layers in four shapes (oci-archive, gzip-compressed oci-archive, `docker save`
 *    archive, OCI layout directory). `--kills` times (shapes in turn) it starts
 *    `lading import` on one of them in a child process and kills it with SIGKILL at a
 *    random moment of the import, audits the store (every blob re-hashed, every name's
 *    graph walked; see `_audit.ts`), retries the same import (it must succeed and name a
 *    verified image, and the dead process's ingest files and leases must be gone), then
 *    removes the name and either collects garbage or deletes a random part of the image's
 *    blobs, so that the next import starts from an empty or a partly filled store.
 * 2. **Concurrency.** `--importers` processes import `--rounds` times each (each its own
 *    variant and shape: images that share their base layers) while one loop removes random
 *    names with `lading images rm` and another runs `lading gc`; every command must
 *    succeed.
 * 3. **Final.** Every archive the rm loop left unnamed is imported again; then the audit, `lading images
 *    check`, `lading content verify`, and `skopeo inspect` of `oci:<store>:<name>` for
 *    every name (`skopeo copy` of one per shape); names with Docker media types in
 *    index.json (`import --docker-media-types`) are not found by skopeo's `oci:` transport,
 *    as the README says: counted apart, not tried.
 *
 * The report (a table on stdout, JSON in `--report`) counts kills, corrupt blobs, visible
 * partial blobs, named broken images, failed retries and failed commands; the process
 * exits 1 when any of those is not zero.
 * @module
 */
import { collectGarbage } from "../../mod.ts";
import { openFsStore } from "../../src/fs.ts";
import { type AuditFinding, auditStore, type StoreAudit } from "./_audit.ts";
import { generateInputs, prng, type Shape, SHAPES, type SoakArchive } from "./_archives.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** SIGKILLed imports (shapes in turn). */
  readonly kills: number;
  /** Imports per concurrent importer. */
  readonly rounds: number;
  /** Concurrent importer processes. */
  readonly importers: number;
  /** Size of one image's layers, in bytes. */
  readonly size: number;
  /** Seed of the inputs, the kill moments and the removals. */
  readonly seed: number;
  /** Work directory (default: a new temporary one, removed afterwards unless `keep`). */
  readonly dir?: string;
  /** Keep the work directory. */
  readonly keep?: boolean;
  /** Run skopeo (default true; when false or missing, the report says so). */
  readonly skopeo?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Stops the kills and the rounds early (Ctrl-C): the final checks and the report follow. */
  readonly signal?: AbortSignal;
}

/** A command that failed. */
export interface Failure {
  readonly what: string;
  readonly why: string;
}

/** What {@link runSoak} measured. */
export interface SoakReport {
  readonly options: Omit<SoakOptions, "log">;
  readonly archives: readonly { shape: Shape; variant: number; bytes: number }[];
  readonly layerSizes: readonly number[];
  readonly kills: {
    readonly total: number;
    readonly byShape: Record<Shape, number>;
    /** Where the kill left the store (from what the audit saw). */
    readonly landed: {
      /** No ingest file, no new blob, no name (perhaps a lease). */
      readonly beforeWriting: number;
      /** Ingest files left by the dead process. */
      readonly midWrite: number;
      /** New verified blobs, but no ingest file and no name. */
      readonly betweenCommits: number;
      /** The name was already recorded. */
      readonly afterNaming: number;
    };
    /** Imports that ended on their own before the kill came (not counted as kills). */
    readonly finishedFirst: number;
  };
  readonly retries: { readonly total: number; readonly succeeded: number };
  readonly concurrent: {
    readonly imports: number;
    readonly gcRuns: number;
    readonly rmRuns: number;
  };
  readonly audits: number;
  /** Distinct blobs that did not hash to their name, in any audit. */
  readonly corruptBlobs: number;
  /** Distinct visible partial blobs (wrong size, temporary name, not a regular file). */
  readonly partialBlobs: number;
  /** Distinct names whose graph was incomplete or did not verify, in any audit. */
  readonly brokenNames: number;
  /** Ingest files or leases still there after a retry (the dead process's). */
  readonly staleAfterRetry: number;
  readonly final: {
    readonly names: number;
    readonly blobs: number;
    readonly imagesCheck: number | null;
    readonly contentVerify: number | null;
    readonly skopeo: {
      readonly ran: boolean;
      readonly inspected: number;
      readonly copied: number;
      /** Names with Docker media types in index.json (skopeo's oci: does not find them). */
      readonly dockerNames: number;
    };
  };
  /** Every failed command, retry or audit finding (the first 50). */
  readonly failures: readonly Failure[];
  readonly failureCount: number;
  readonly seconds: Record<string, number>;
  /** True when nothing failed. */
  readonly ok: boolean;
  /** Stopped early by the signal (the counts are what was done). */
  readonly interrupted: boolean;
}

interface RunResult {
  code: number;
  signal: string | null;
  stderr: string;
  ms: number;
}

/** When {@link lading} SIGKILLs its child. */
interface KillAt {
  /** Milliseconds after the start, or after the first write (`watch`). */
  readonly ms: number;
  /** Count from the first file created in this directory (the store's `ingest/`). */
  readonly watch?: string;
}

interface LadingResult extends RunResult {
  /** Milliseconds from the start to the first file created in the watched directory. */
  firstWriteMs?: number;
}

/**
 * Runs `lading <args>` in a child process; with `kill`, SIGKILLs it then. With `watch`,
 * the time of the first file created there is measured (and the kill counts from it).
 */
async function lading(
  args: string[],
  options: { kill?: KillAt; watch?: string } = {},
): Promise<LadingResult> {
  const watch = options.kill?.watch ?? options.watch;
  const watcher = watch ? Deno.watchFs(watch, { recursive: false }) : undefined;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = (ms: number) => {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, ms);
  };
  if (options.kill && !options.kill.watch) kill(options.kill.ms);
  let firstWriteMs: number | undefined;
  const watching = (async () => {
    if (!watcher) return;
    for await (const event of watcher) {
      if (event.kind !== "create") continue;
      firstWriteMs = performance.now() - t0;
      if (options.kill?.watch) kill(options.kill.ms);
      break;
    }
  })();
  const out = await child.output();
  clearTimeout(timer);
  watcher?.close();
  await watching;
  return {
    code: out.code,
    signal: out.signal,
    stderr: new TextDecoder().decode(out.stderr).trim(),
    ms: performance.now() - t0,
    firstWriteMs,
  };
}

async function run(cmd: string, args: string[]): Promise<RunResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return {
    code: out.code,
    signal: out.signal,
    stderr: new TextDecoder().decode(out.stderr).trim(),
    ms: performance.now() - t0,
  };
}

async function hasTool(cmd: string): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the soak and returns its report (it does not throw on findings). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => {});
  const rand = prng(options.seed ^ 0x5eed);
  const work = options.dir ?? await Deno.makeTempDir({ prefix: "lading-soak-" });
  const store = `${work}/store`;
  const seconds: Record<string, number> = {};
  const failures: Failure[] = [];
  let failureCount = 0;
  const fail = (what: string, why: string) => {
    failureCount++;
    if (failures.length < 50) failures.push({ what, why: why.split("\n")[0].slice(0, 300) });
    log(`FAIL ${what}: ${why.split("\n")[0].slice(0, 300)}`);
  };
  const corrupt = new Set<string>();
  const partial = new Set<string>();
  const broken = new Set<string>();
  let audits = 0;
  let staleAfterRetry = 0;

  const started = performance.now();
  let t = started;
  const lap = (phase: string) => {
    const now = performance.now();
    seconds[phase] = Math.round((now - t) / 100) / 10;
    t = now;
  };

  log(`generating inputs in ${work} (seed ${options.seed}, ${options.size / 1e6} MB)`);
  const inputs = await generateInputs({
    dir: `${work}/inputs`,
    size: options.size,
    variants: Math.max(1, Math.ceil(options.importers / SHAPES.length)),
    seed: options.seed,
  });
  const sizes = new Map(inputs.blobSizes);
  for (const a of inputs.archives.filter((a) => a.variant === 0)) {
    log(`  ${a.shape}: ${(a.bytes / 1e6).toFixed(1)} MB`);
  }
  lap("generate");

  /** Audits the store and records every finding; returns the audit. */
  const audit = async (when: string): Promise<StoreAudit> => {
    audits++;
    const a = await auditStore(store, sizes);
    const record = (set: Set<string>, kind: string, list: readonly AuditFinding[]) => {
      for (const f of list) {
        if (!set.has(f.what)) fail(`${when}: ${kind} ${f.what}`, f.why);
        set.add(f.what);
      }
    };
    record(corrupt, "corrupt blob", a.corrupt);
    record(partial, "partial blob", a.partial);
    record(broken, "broken name", a.broken);
    return a;
  };

  /**
   * Learns the sizes of blobs lading makes itself on import (the manifests of docker
   * archives), from a store that was just audited: every blob that hashes to its name.
   */
  const learnSizes = async () => {
    for await (const e of Deno.readDir(`${store}/blobs/sha256`)) {
      const digest = `sha256:${e.name}`;
      if (!sizes.has(digest) && !corrupt.has(`blobs/sha256/${e.name}`) && e.isFile) {
        sizes.set(digest, (await Deno.stat(`${store}/blobs/sha256/${e.name}`)).size);
      }
    }
  };
  const blobCount = async () => {
    let n = 0;
    for await (const _ of Deno.readDir(`${store}/blobs/sha256`)) n++;
    return n;
  };

  const importArgs = (a: SoakArchive) => ["--store", store, "import", "-q", a.path];

  // The bystander; start-up time; a first guess of how long an import takes (the retries
  // keep it current).
  const seed = await lading(importArgs(inputs.bystander));
  if (seed.code !== 0) fail("importing the bystander", seed.stderr);
  await audit("after importing the bystander");
  const startup = (await lading(["--version"])).ms;
  const killed = inputs.archives.filter((a) => a.variant === 0);
  const writePhase = new Map<Shape, number>();
  const duration = new Map<Shape, number>(
    killed.map((a) => [a.shape, startup * 1.5 + a.bytes / 50e6 * 1000]),
  );
  log(`start-up ${Math.round(startup)} ms`);
  lap("start");

  // 1. Kills.
  const byShape = Object.fromEntries(SHAPES.map((s) => [s, 0])) as Record<Shape, number>;
  const landed = { beforeWriting: 0, midWrite: 0, betweenCommits: 0, afterNaming: 0 };
  let kills = 0;
  let finishedFirst = 0;
  let retries = 0;
  let retriesOk = 0;
  let attempts = 0;
  const stopped = () => options.signal?.aborted === true;
  while (kills < options.kills && attempts < options.kills * 3 && !stopped()) {
    const a = killed[kills % killed.length];
    attempts++;
    const blobsBefore = await blobCount();
    const full = duration.get(a.shape)!;
    const writing = writePhase.get(a.shape) ?? full / 2;
    // One kill in four anywhere from the end of start-up to the end of a whole import;
    // the others while the store is written: from its first ingest file to the end.
    const kill: KillAt = rand() < 0.25
      ? { ms: Math.max(1, startup * 0.8 + rand() * Math.max(10, full - startup * 0.8)) }
      : { ms: rand() * writing * 1.05, watch: `${store}/ingest` };
    const at = kill.ms;
    const r = await lading(importArgs(a), { kill });
    if (r.signal !== "SIGKILL") {
      finishedFirst++;
      if (r.code !== 0) fail(`import of ${a.shape} (not killed)`, r.stderr);
      // A kill that came too late: aim earlier next time.
      duration.set(a.shape, Math.max(startup, full * 0.9));
    } else {
      kills++;
      byShape[a.shape]++;
      const after = await audit(
        `after kill ${kills} (${a.shape} at ${Math.round(at)} ms${
          kill.watch ? " of writing" : ""
        })`,
      );
      if (after.names.includes(a.name)) landed.afterNaming++;
      else if (after.ingest > 0) landed.midWrite++;
      else if (after.blobs > blobsBefore) landed.betweenCommits++;
      else landed.beforeWriting++;
      if (!after.names.includes(inputs.bystander.name)) {
        fail(`after kill ${kills}`, "the bystander's name is gone");
      }
      retries++;
      const again = await lading(importArgs(a), { watch: `${store}/ingest` });
      // Keep the estimates of a whole import and of its writing current (the machine's
      // load changes).
      duration.set(a.shape, 0.7 * full + 0.3 * again.ms);
      if (again.firstWriteMs !== undefined) {
        writePhase.set(a.shape, 0.7 * writing + 0.3 * (again.ms - again.firstWriteMs));
      }
      const check = await audit(`after retry ${retries} (${a.shape})`);
      await learnSizes();
      if (again.code !== 0) fail(`retry ${retries} of ${a.shape}`, again.stderr);
      else if (!check.names.includes(a.name)) {
        fail(`retry ${retries} of ${a.shape}`, `exit 0 but ${a.name} is not named`);
      } else if (check.broken.length === 0) retriesOk++;
      if (check.leftovers > 0) {
        staleAfterRetry += check.leftovers;
        fail(`retry ${retries} of ${a.shape}`, `${check.leftovers} ingest/lease files left`);
      }
      log(
        `kill ${kills}/${options.kills} ${a.shape} at ${Math.round(at)} ms${
          kill.watch ? " after the first write" : ""
        }; retry ${again.code === 0 ? "ok" : "FAILED"} in ${Math.round(again.ms)} ms`,
      );
    }
    await removeAndShrink(store, a.name, rand() < 0.5 ? "gc" : "part", rand);
  }
  if (kills < options.kills && !stopped()) {
    fail("kills", `only ${kills} of ${options.kills} imports could be killed before they ended`);
  }
  lap("kills");

  // 2. Concurrency: importers, with images rm and gc looping.
  {
    const s = await openFsStore(store);
    try {
      const names = (await s.listImages()).map((r) => r.name).filter((n) =>
        n !== inputs.bystander.name
      );
      await s.deleteImages(names);
      await collectGarbage(s);
    } finally {
      await s.close();
    }
  }
  const pool = [...inputs.archives].sort((x, y) => x.variant - y.variant);
  let running = options.importers;
  let imports = 0;
  let gcRuns = 0;
  let rmRuns = 0;
  const importer = async (i: number) => {
    const a = pool[i % pool.length];
    try {
      for (let round = 0; round < options.rounds && !stopped(); round++) {
        const r = await lading(importArgs(a));
        imports++;
        if (r.code !== 0) fail(`importer ${i} round ${round} (${a.shape} v${a.variant})`, r.stderr);
      }
    } finally {
      running--;
    }
  };
  const gcLoop = async () => {
    while (running > 0) {
      const r = await lading(["--store", store, "gc", "-q"]);
      gcRuns++;
      if (r.code !== 0) fail(`gc run ${gcRuns}`, r.stderr);
      await sleep(rand() * 300);
    }
  };
  const rmLoop = async () => {
    while (running > 0) {
      await sleep(100 + rand() * 400);
      let names: string[] = [];
      try {
        const index = JSON.parse(await Deno.readTextFile(`${store}/index.json`));
        names = index.manifests.map((m: { annotations?: Record<string, string> }) =>
          m.annotations?.["io.containerd.image.name"] ?? ""
        ).filter((n: string) => n.startsWith("soak.test/") && n !== inputs.bystander.name);
      } catch (e) {
        fail("reading index.json during the concurrent phase", String(e));
      }
      if (names.length === 0) continue;
      const name = names[Math.floor(rand() * names.length)];
      const r = await lading(["--store", store, "images", "rm", name]);
      rmRuns++;
      if (r.code !== 0) fail(`images rm ${name}`, r.stderr);
    }
  };
  await Promise.all([
    ...Array.from({ length: options.importers }, (_, i) => importer(i)),
    gcLoop(),
    rmLoop(),
  ]);
  await audit("after the concurrent phase");
  log(`concurrent: ${imports} imports, ${gcRuns} gc runs, ${rmRuns} images rm`);
  lap("concurrent");

  // 3. Final: every archive the rm loop left unnamed once more, then the audit and peers.
  const named = (await auditStore(store, sizes)).names;
  for (const a of inputs.archives.filter((a) => !named.includes(a.name))) {
    const r = await lading(importArgs(a));
    if (r.code !== 0) fail(`final import of ${a.shape} v${a.variant}`, r.stderr);
  }
  const last = await audit("final");
  for (const a of inputs.archives) {
    if (!last.names.includes(a.name)) fail("final", `${a.name} is not named`);
  }
  const check = await lading(["--store", store, "images", "check"]);
  if (check.code !== 0) fail("lading images check", check.stderr);
  const verify = await lading(["--store", store, "content", "verify"]);
  if (verify.code !== 0) fail("lading content verify", verify.stderr);
  let inspected = 0;
  let copied = 0;
  let dockerNames = 0;
  const skopeoWanted = options.skopeo ?? true;
  const skopeoRan = skopeoWanted && await hasTool("skopeo");
  if (skopeoWanted && !skopeoRan) {
    if (Deno.env.get("CI") === "true") fail("skopeo", "not installed (CI=true)");
    else log("skipped: skopeo is not installed");
  }
  if (skopeoRan) {
    const index = JSON.parse(await Deno.readTextFile(`${store}/index.json`));
    for (const m of index.manifests) {
      const name: string = m.annotations?.["io.containerd.image.name"];
      if (m.mediaType.startsWith("application/vnd.docker.")) {
        dockerNames++;
        continue;
      }
      const ref = `oci:${store}:${name}`;
      const r = await run("skopeo", ["inspect", "--raw", ref]);
      if (r.code !== 0) fail(`skopeo inspect ${name}`, r.stderr);
      else inspected++;
      // A full copy of one variant of each shape (the others share all but one layer).
      if (!name.endsWith(":v0")) continue;
      const c = await run("skopeo", [
        "copy",
        "-q",
        ref,
        `oci:${work}/skopeo-copy:${name.replace(/[^a-z0-9]+/g, "-")}`,
      ]);
      if (c.code !== 0) fail(`skopeo copy ${name}`, c.stderr);
      else copied++;
    }
  }
  lap("final");
  seconds.total = Math.round((performance.now() - started) / 100) / 10;
  if (!options.keep && !options.dir) await Deno.remove(work, { recursive: true });
  else if (!options.keep) {
    await Deno.remove(store, { recursive: true }).catch(() => {});
    await Deno.remove(`${work}/inputs`, { recursive: true }).catch(() => {});
    await Deno.remove(`${work}/skopeo-copy`, { recursive: true }).catch(() => {});
  }

  const { log: _, ...shown } = options;
  return {
    options: shown,
    archives: inputs.archives.map((a) => ({ shape: a.shape, variant: a.variant, bytes: a.bytes })),
    layerSizes: inputs.layerSizes,
    kills: { total: kills, byShape, landed, finishedFirst },
    retries: { total: retries, succeeded: retriesOk },
    concurrent: { imports, gcRuns, rmRuns },
    audits,
    corruptBlobs: corrupt.size,
    partialBlobs: partial.size,
    brokenNames: broken.size,
    staleAfterRetry,
    final: {
      names: last.names.length,
      blobs: last.blobs,
      imagesCheck: check.code,
      contentVerify: verify.code,
      skopeo: { ran: skopeoRan, inspected, copied, dockerNames },
    },
    failures,
    failureCount,
    seconds,
    ok: failureCount === 0 && !stopped(),
    interrupted: stopped(),
  };
}

/**
 * Removes `name`; then `gc` collects everything unnamed, or `part` deletes a random half
 * of the unnamed blobs (at least the largest), so the next import finds some present.
 */
async function removeAndShrink(
  dir: string,
  name: string,
  mode: "gc" | "part",
  rand: () => number,
): Promise<void> {
  const s = await openFsStore(dir);
  try {
    if ((await s.listImages()).some((r) => r.name === name)) await s.deleteImages([name]);
    if (mode === "gc") {
      await collectGarbage(s);
      return;
    }
    const unnamed = (await collectGarbage(s, { dryRun: true })).removed;
    const largest = [...unnamed].sort((a, b) => b.size - a.size)[0];
    for (const b of unnamed) {
      if (b === largest || rand() < 0.5) await s.delete(b.digest);
    }
  } finally {
    await s.close();
  }
}

/** The report as a table. */
export function formatReport(r: SoakReport): string {
  const rows: [string, string][] = [
    [
      "seed / size / kills / importers × rounds",
      `${r.options.seed} / ${
        r.options.size / 1e6
      } MB / ${r.options.kills} / ${r.options.importers} × ${r.options.rounds}`,
    ],
    ...r.archives.filter((a) => a.variant === 0).map((a): [string, string] => [
      `archive: ${a.shape}`,
      `${(a.bytes / 1e6).toFixed(1)} MB`,
    ]),
    ["layers (MB)", r.layerSizes.map((s) => (s / 1e6).toFixed(s < 1e6 ? 2 : 1)).join(" ")],
    ["kills (SIGKILL during an import)", String(r.kills.total)],
    ["  by shape", SHAPES.map((s) => `${s} ${r.kills.byShape[s]}`).join(", ")],
    [
      "  landed",
      `before writing ${r.kills.landed.beforeWriting}, mid-write ${r.kills.landed.midWrite}, between commits ${r.kills.landed.betweenCommits}, after naming ${r.kills.landed.afterNaming}`,
    ],
    ["  imports that ended before the kill (not counted)", String(r.kills.finishedFirst)],
    [
      "retries succeeded",
      `${r.retries.succeeded}/${r.retries.total} (${
        r.retries.total ? (100 * r.retries.succeeded / r.retries.total).toFixed(1) : "-"
      } %)`,
    ],
    [
      "concurrent imports / gc runs / images rm",
      `${r.concurrent.imports} / ${r.concurrent.gcRuns} / ${r.concurrent.rmRuns}`,
    ],
    ["store audits (every blob re-hashed, every name walked)", String(r.audits)],
    ["corrupt blobs", String(r.corruptBlobs)],
    ["visible partial blobs", String(r.partialBlobs)],
    ["named broken images", String(r.brokenNames)],
    ["ingest/lease files left after a retry", String(r.staleAfterRetry)],
    ["final names / blobs", `${r.final.names} / ${r.final.blobs}`],
    [
      "lading images check / content verify (exit)",
      `${r.final.imagesCheck} / ${r.final.contentVerify}`,
    ],
    [
      "skopeo inspect / copy oci:<store>:<name>",
      r.final.skopeo.ran
        ? `${r.final.skopeo.inspected} / ${r.final.skopeo.copied} ok (${r.final.skopeo.dockerNames} names with Docker media types, not tried)`
        : "not run",
    ],
    ["failures", String(r.failureCount)],
    ["seconds", Object.entries(r.seconds).map(([k, v]) => `${k} ${v}`).join(", ")],
    ["result", r.interrupted ? "INTERRUPTED (counts so far)" : r.ok ? "OK" : "FAILED"],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `| ${k.padEnd(w)} | ${v} |`);
  const failures = r.failures.map((f) => `  ${f.what}: ${f.why}`);
  return [...lines, ...(failures.length ? ["failures:", ...failures] : [])].join("\n");
}

const USAGE =
  "usage: deno task soak [--kills N] [--rounds N] [--importers N] [--size MB] [--seed S] [--report FILE] [--dir DIR] [--keep] [--no-skopeo]";

if (import.meta.main) {
  const args = [...Deno.args];
  const opts: Record<string, string | boolean> = {};
  while (args.length) {
    const a = args.shift()!;
    if (a === "--keep" || a === "--no-skopeo") opts[a.slice(2)] = true;
    else if (/^--(kills|rounds|importers|size|seed|report|dir)$/.test(a) && args.length) {
      opts[a.slice(2)] = args.shift()!;
    } else {
      console.error(a === "-h" || a === "--help" ? USAGE : `unknown argument ${a}\n${USAGE}`);
      Deno.exit(a === "-h" || a === "--help" ? 0 : 2);
    }
  }
  const num = (k: string, d: number) => {
    const v = opts[k] === undefined ? d : Number(opts[k]);
    if (!Number.isFinite(v) || v < 0) {
      console.error(`--${k} must be a number\n${USAGE}`);
      Deno.exit(2);
    }
    return v;
  };
  const stop = new AbortController();
  const interrupt = () => {
    console.error("[soak] stopping: the final checks and the report follow (again to quit)");
    if (stop.signal.aborted) Deno.exit(130);
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);
  const report = await runSoak({
    signal: stop.signal,
    kills: num("kills", 200),
    rounds: num("rounds", 20),
    importers: num("importers", 8),
    size: Math.round(num("size", 100) * 1e6),
    seed: num("seed", 1),
    dir: opts.dir as string | undefined,
    keep: opts.keep === true,
    skopeo: opts["no-skopeo"] !== true,
    log: (line) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`),
  });
  const path = (opts.report as string | undefined) ?? "soak-report.json";
  await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
  console.log(formatReport(report));
  console.log(`JSON report: ${path}`);
  Deno.exit(report.ok ? 0 : 1);
}
