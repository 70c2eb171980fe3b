/**
 * Layer benchmark: one gzip layer of at least 100 MB (compressed) made from this
 * machine's files, then, in one run:
 * - `lading ls --layer 0` and `lading layers` against `tar -tzf` of the same blob (goal ≤ 1.3×),
 * - `lading unpack` against `umoci unpack --rootless` of the same image (goal ≤ 1.3×),
 * - peak RSS of `lading ls` (one layer, merged view) and `lading unpack` (goal ≤ 150 MiB), from `/usr/bin/time -v`,
 * - the store's layer index: `lading ls -R` and `lading cat` of one file, first call (no
 *   index: the layer is read and the index written) and second call (from the index; goal
 *   ≤ 0.3 s whole process), against `tar -tzf`.
 *
 * Every lading measurement is the real CLI in a subprocess (`deno run -A cli.ts`), so
 * Deno's start-up is included. Each command runs once to warm caches, then `RUNS` times;
 * the median counts.
 *
 * ```sh
 * deno run -A bench/layers.ts [workDir]      # default $LADING_BENCH_DIR or /tmp/lading-bench
 * deno run -A bench/layers.ts --index [workDir]  # only the layer index rows (ls -R, cat)
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import type { BenchResult } from "./make_image.ts";

const RUNS = 3;
const SOURCES = ["/usr/lib", "/usr/share", "/usr/bin"];
const MAX_FILE = 8 * 1024 * 1024;
/** The compressed layer must be at least this big. */
const MIN_LAYER = 100 * 1000 * 1000;
/** The name lading imports (index.json also has the tag `bench` for umoci). */
const NAME = "example.com/lading/bench-layers:1";
const UMOCI_TAG = "bench";
const CLI = new URL("../cli.ts", import.meta.url).pathname;

function log(msg: string): void {
  console.error(`[layers] ${msg}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function which(cmd: string): Promise<boolean> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${cmd}`],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

/** Regular readable files under `dir`, sorted walk. */
async function* walk(dir: string): AsyncGenerator<{ path: string; size: number }> {
  let names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch {
    return;
  }
  names = names.sort();
  for (const n of names) {
    const p = `${dir}/${n}`;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(p);
    } catch {
      continue;
    }
    if (st.isDirectory) yield* walk(p);
    else if (st.isFile && st.size > 0 && st.size <= MAX_FILE && (st.mode! & 0o444)) {
      yield { path: p.slice(1), size: st.size };
    }
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  using f = await Deno.open(path);
  for await (const c of f.readable) h.update(c);
  return h.digest("hex");
}

/** Builds (or reuses) an OCI layout with one gzip layer ≥ 100 MB; returns paths. */
async function makeLayerImage(
  workDir: string,
): Promise<{ layout: string; blob: string; size: number }> {
  const root = `${workDir}/layers-bench`;
  const layout = `${root}/layout`;
  const done = `${root}/done.json`;
  if (await exists(done)) {
    const d = JSON.parse(await Deno.readTextFile(done));
    if (await exists(d.blob)) return d;
  }
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  let target = 300 * 1000 * 1000;
  for (let attempt = 0; attempt < 4; attempt++) {
    const list: string[] = [];
    let total = 0;
    outer: for (const src of SOURCES) {
      for await (const f of walk(src)) {
        list.push(f.path);
        total += f.size;
        if (total >= target) break outer;
      }
    }
    log(`packing ${list.length} files (${(total / 1e6).toFixed(0)} MB) into a gzip layer ...`);
    await Deno.writeTextFile(`${root}/files.txt`, list.join("\n") + "\n");
    const tarFile = `${root}/layer.tar`;
    const pack = await new Deno.Command("tar", {
      args: [
        "-C",
        "/",
        "--sort=name",
        "--ignore-failed-read",
        "--warning=no-file-changed",
        "-cf",
        tarFile,
        "-T",
        `${root}/files.txt`,
      ],
      stderr: "null",
    }).output();
    if (pack.code > 1) throw new Error("tar failed");
    const diffId = await sha256File(tarFile);
    const gz = await new Deno.Command("sh", {
      args: ["-c", `gzip -6 -n -c "${tarFile}" > "${root}/layer.tar.gz"`],
    }).output();
    if (!gz.success) throw new Error("gzip failed");
    const size = (await Deno.stat(`${root}/layer.tar.gz`)).size;
    if (size < MIN_LAYER) {
      log(`compressed to ${(size / 1e6).toFixed(0)} MB, < 100 MB; more files`);
      target = Math.ceil(target * (MIN_LAYER * 1.05) / size);
      continue;
    }
    await Deno.remove(tarFile);
    const hex = await sha256File(`${root}/layer.tar.gz`);
    const blob = `${layout}/blobs/sha256/${hex}`;
    await Deno.rename(`${root}/layer.tar.gz`, blob);
    const enc = new TextEncoder();
    const put = async (value: unknown, mediaType: string) => {
      const bytes = enc.encode(JSON.stringify(value));
      const h = sha256Hex(bytes);
      await Deno.writeFile(`${layout}/blobs/sha256/${h}`, bytes);
      return { mediaType, digest: `sha256:${h}`, size: bytes.byteLength };
    };
    const config = await put({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
      history: [{ created_by: `tar of ${list.length} files from ${SOURCES.join(", ")}` }],
    }, "application/vnd.oci.image.config.v1+json");
    const manifest = await put({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [{
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: `sha256:${hex}`,
        size,
      }],
    }, "application/vnd.oci.image.manifest.v1+json");
    await Deno.writeTextFile(`${layout}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await Deno.writeTextFile(
      `${layout}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          { ...manifest, annotations: { "org.opencontainers.image.ref.name": UMOCI_TAG } },
          { ...manifest, annotations: { "org.opencontainers.image.ref.name": NAME } },
        ],
      }),
    );
    const d = { layout, blob, size };
    await Deno.writeTextFile(done, JSON.stringify(d));
    return d;
  }
  throw new Error("could not make a 100 MB gzip layer from this machine's files");
}

interface Timed {
  seconds: number;
  /** Peak RSS in KiB when measured with /usr/bin/time. */
  rssKiB?: number;
}

/** Runs a command (stdout discarded) and times it; with `rss`, under /usr/bin/time -v. */
async function timed(cmd: string, args: string[], rss = false): Promise<Timed> {
  const full = rss ? ["/usr/bin/time", ["-v", cmd, ...args]] as const : [cmd, args] as const;
  const t0 = performance.now();
  const out = await new Deno.Command(full[0], {
    args: [...full[1]],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${err.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  return { seconds, ...(m ? { rssKiB: Number(m[1]) } : {}) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function lading(store: string, ...args: string[]): [string, string[]] {
  return [Deno.execPath(), ["run", "-A", CLI, ...args, "--store", store]];
}

/** Runs the layer benchmark; see the module documentation. */
export async function benchLayers(
  workDir: string,
  options: { indexOnly?: boolean } = {},
): Promise<BenchResult[]> {
  await Deno.mkdir(workDir, { recursive: true });
  const { layout, blob, size } = await makeLayerImage(workDir);
  log(`layer blob: ${(size / 1e6).toFixed(1)} MB gzip`);
  const store = `${workDir}/layers-bench/store`;
  await Deno.remove(store, { recursive: true }).catch(() => {});
  const [icmd, iargs] = lading(store, "import", layout);
  await timed(icmd, iargs);

  const results: BenchResult[] = [];
  const compare = async (
    name: string,
    ours: () => Promise<Timed>,
    theirs: () => Promise<Timed>,
    referenceName: string,
    cleanup: () => Promise<void> = () => Promise.resolve(),
  ) => {
    await ours();
    await cleanup();
    await theirs();
    await cleanup();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push((await ours()).seconds);
      await cleanup();
      b.push((await theirs()).seconds);
      await cleanup();
    }
    const value = median(a);
    const reference = median(b);
    log(`${name}: ${value.toFixed(2)} s vs ${reference.toFixed(2)} s (${referenceName})`);
    results.push({ name, value, reference, ratio: value / reference, referenceName, goal: 1.3 });
  };

  const tarList = () => timed("tar", ["-tzf", blob]);
  const [lsCmd, lsArgs] = lading(store, "ls", NAME, "--layer", "0");
  if (!options.indexOnly) {
    await compare(
      "ls --layer 0 (100 MB gzip layer)",
      () => timed(lsCmd, lsArgs),
      tarList,
      "tar -tzf",
    );
    const [lCmd, lArgs] = lading(store, "layers", NAME);
    await compare("layers (100 MB gzip layer)", () => timed(lCmd, lArgs), tarList, "tar -tzf");
  }

  // The store's layer index: first call (index removed first) and second call.
  const dropIndex = () => Deno.remove(`${store}/lading-cache`, { recursive: true }).catch(() => {});
  const files = (await Deno.readTextFile(`${workDir}/layers-bench/files.txt`)).split("\n");
  const one = files[Math.floor(files.length / 2)];
  const tarRef: number[] = [];
  for (let i = 0; i < RUNS; i++) tarRef.push((await tarList()).seconds);
  const reference = median(tarRef);
  for (
    const [label, args] of [
      ["ls -R", ["ls", "-R", NAME]],
      [`cat /${one.length > 40 ? "…" + one.slice(-40) : one}`, ["cat", NAME, `/${one}`]],
    ] as const
  ) {
    const [cmd, cargs] = lading(store, ...args);
    const first: number[] = [];
    const second: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await dropIndex();
      first.push((await timed(cmd, cargs)).seconds);
      second.push((await timed(cmd, cargs)).seconds);
    }
    const a = median(first);
    const b = median(second);
    log(
      `${label}: first call ${a.toFixed(2)} s, second call ${b.toFixed(2)} s, tar -tzf ${
        reference.toFixed(2)
      } s`,
    );
    results.push({
      name: `${label} first call (builds the index)`,
      value: a,
      reference,
      ratio: a / reference,
      referenceName: "tar -tzf",
      goal: 1.3,
    });
    results.push({
      name: `${label} second call (layer index)`,
      value: b,
      reference,
      ratio: b / reference,
      referenceName: "tar -tzf",
      goal: { max: 0.3, of: "value" },
    });
  }

  if (options.indexOnly) return results;
  const out = `${workDir}/layers-bench/out`;
  const clean = () => Deno.remove(out, { recursive: true }).catch(() => {});
  await clean();
  if (await which("umoci")) {
    const [uCmd, uArgs] = lading(store, "unpack", NAME, `${out}/lading`);
    await compare(
      "unpack (100 MB gzip layer)",
      () => timed(uCmd, uArgs),
      () =>
        timed("umoci", [
          "unpack",
          "--rootless",
          "--image",
          `${layout}:${UMOCI_TAG}`,
          `${out}/umoci`,
        ]),
      "umoci unpack --rootless",
      clean,
    );
  } else log("umoci not found: unpack comparison skipped");

  if (await exists("/usr/bin/time")) {
    const lsRss = (await timed(lsCmd, lsArgs, true)).rssKiB ?? NaN;
    const [mCmd, mArgs] = lading(store, "ls", NAME);
    const mergedRss = (await timed(mCmd, mArgs, true)).rssKiB ?? NaN;
    const [uCmd, uArgs] = lading(store, "unpack", NAME, `${out}/rss`);
    const unpackRss = (await timed(uCmd, uArgs, true)).rssKiB ?? NaN;
    await clean();
    const tarRss = (await timed("tar", ["-tzf", blob], true)).rssKiB ?? NaN;
    for (
      const [name, kib] of [
        ["peak RSS ls --layer 0", lsRss],
        ["peak RSS ls (merged view)", mergedRss],
        ["peak RSS unpack", unpackRss],
      ] as const
    ) {
      const mib = kib / 1024;
      log(`${name}: ${mib.toFixed(0)} MiB`);
      results.push({
        name,
        value: mib,
        reference: tarRss / 1024,
        ratio: mib / (tarRss / 1024),
        unit: "MiB",
        referenceName: "tar -tzf",
        goal: { max: 150, of: "value" },
      });
    }
  } else log("/usr/bin/time not found: peak RSS skipped");
  return results;
}

if (import.meta.main) {
  const indexOnly = Deno.args.includes("--index");
  const workDir = Deno.args.find((a) => a !== "--index") ?? Deno.env.get("LADING_BENCH_DIR") ??
    "/tmp/lading-bench";
  const results = await benchLayers(workDir, { indexOnly });
  for (const r of results) {
    const unit = r.unit ?? "s";
    console.log(
      `${r.name.padEnd(36)} ${r.value.toFixed(2).padStart(8)} ${unit}  vs ${
        r.reference.toFixed(2).padStart(8)
      } ${unit} (${r.referenceName})  ratio ${r.ratio.toFixed(2)}×`,
    );
  }
}
