/**
 * Builds the benchmark image: real files from this machine (`/usr/lib`, `/usr/share`,
 * `/usr/bin`, ...) packed into several layers, written once as an OCI layout directory and
 * as an uncompressed oci-archive tar, and cached under the work directory so that repeated
 * runs reuse it.
 *
 * The layers are made by the system `tar` and `pigz`/`gzip -1` (fast, and what a real
 * build would produce); the file choice is deterministic (sorted walk, files taken in
 * order until each layer reaches its share of the target size).
 *
 * ```sh
 * deno run -A bench/make_image.ts [workDir] [--gib] [--bytes N] [--layers N]
 * ```
 * @module
 */
import { createHash } from "node:crypto";

/** One benchmark measurement, as every `bench/*.ts` module returns it. */
export interface BenchResult {
  /** What was measured (`import`, `re-import`, `peak RSS import 1 GiB`, ...). */
  name: string;
  /** lading's value (seconds unless `unit` says otherwise). */
  value: number;
  /** The reference value (the floor, or a peer tool). */
  reference: number;
  /** value / reference. */
  ratio: number;
  /** Unit of value and reference (default "s"). */
  unit?: string;
  /** What the reference is (`cp + openssl dgst`, `skopeo copy`, ...). */
  referenceName?: string;
  /**
   * The goal: `ratio` ≤ max (default) or `value` ≤ max. A plain number means a ratio.
   * Absent for informational rows.
   */
  goal?: number | { max: number; of: "ratio" | "value" };
  /** Free text shown next to the row. */
  note?: string;
}

/** The image that {@link makeBenchImage} built. */
export interface BenchImage {
  /** The uncompressed oci-archive tar. */
  archive: string;
  /** The same image as an OCI layout directory. */
  layoutDir: string;
  /** Size of the archive in bytes. */
  bytes: number;
}

/** Options for {@link makeBenchImage}. */
export interface MakeImageOptions {
  /** Approximate size of the archive (default 120 MB; `1 << 30` for the memory goal). */
  targetBytes?: number;
  /** Number of layers (default 5, at least 4). */
  layers?: number;
  /**
   * Layer compression: `gzip` (default below 512 MiB) or `none` (default from 512 MiB up,
   * so that a 1 GiB archive is quick to build from the files a machine has).
   */
  compression?: "gzip" | "none";
  /** Log progress to stderr (default true). */
  verbose?: boolean;
}

/** Directories the files come from, in this order. */
const SOURCES = ["/usr/lib", "/usr/share", "/usr/bin", "/usr/sbin", "/usr/libexec", "/opt"];
/** Name of the image in index.json. */
export const BENCH_REF = "bench:1";
export const BENCH_NAME = "docker.io/library/bench:1";
/** Larger files are skipped (a few huge files would make unrealistic layers). */
const MAX_FILE = 8 * 1024 * 1024;

interface FileEntry {
  path: string; // relative to /
  size: number;
}

function log(verbose: boolean, msg: string): void {
  if (verbose) console.error(`[make_image] ${msg}`);
}

/** Sorted depth-first walk of regular, readable files (symlinks, sockets, ... skipped). */
async function* walkFiles(dir: string, skip: (p: string) => boolean): AsyncGenerator<FileEntry> {
  let names: string[];
  try {
    names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch {
    return; // unreadable directory
  }
  names.sort();
  for (const name of names) {
    const path = `${dir}/${name}`;
    if (skip(path)) continue;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(path);
    } catch {
      continue;
    }
    if (st.isDirectory) {
      yield* walkFiles(path, skip);
    } else if (st.isFile && st.size > 0) {
      // Readable by us? (tar would otherwise fail or skip it.)
      if (st.mode !== null && (st.mode & 0o444) === 0) continue;
      try {
        const f = await Deno.open(path, { read: true });
        f.close();
      } catch {
        continue;
      }
      yield { path: path.slice(1), size: st.size };
    }
  }
}

async function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function which(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${cmd}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** sha256 of a file, streamed. */
async function sha256File(path: string): Promise<{ hex: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  const f = await Deno.open(path, { read: true });
  for await (const chunk of f.readable) {
    h.update(chunk);
    size += chunk.byteLength;
  }
  return { hex: h.digest("hex"), size };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a blob into `<layout>/blobs/sha256/` and returns its descriptor fields. */
async function writeJsonBlob(
  layoutDir: string,
  value: unknown,
): Promise<{ digest: string; size: number }> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const hex = createHash("sha256").update(bytes).digest("hex");
  await Deno.writeFile(`${layoutDir}/blobs/sha256/${hex}`, bytes);
  return { digest: `sha256:${hex}`, size: bytes.byteLength };
}

/**
 * Builds (or reuses from `workDir`) the benchmark image.
 *
 * @returns the archive path, the layout directory and the archive size in bytes.
 */
export async function makeBenchImage(
  workDir: string,
  options: MakeImageOptions = {},
): Promise<BenchImage> {
  const target = options.targetBytes ?? 120_000_000;
  const layerCount = Math.max(4, options.layers ?? 5);
  const compression = options.compression ?? (target >= 512 * 1024 * 1024 ? "none" : "gzip");
  const verbose = options.verbose ?? true;
  if (!(target >= 1_000_000)) throw new TypeError(`targetBytes too small: ${target}`);

  await Deno.mkdir(workDir, { recursive: true });
  const realWork = await Deno.realPath(workDir);
  const key = `image-${Math.round(target / 1e6)}MB-${layerCount}l-${compression}`;
  const root = `${realWork}/${key}`;
  const layoutDir = `${root}/layout`;
  const archive = `${root}/image.tar`;
  const meta = `${root}/done.json`;
  if (await exists(meta) && await exists(archive)) {
    const st = await Deno.stat(archive);
    const recorded = JSON.parse(await Deno.readTextFile(meta));
    if (recorded.bytes === st.size) {
      log(verbose, `reusing ${archive} (${(st.size / 1e6).toFixed(1)} MB)`);
      return { archive, layoutDir, bytes: st.size };
    }
  }
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${layoutDir}/blobs/sha256`, { recursive: true });
  const tmp = `${root}/tmp`;
  await Deno.mkdir(tmp, { recursive: true });

  const gz = await which("pigz") ? "pigz" : "gzip";
  const started = performance.now();
  log(
    verbose,
    `building ${key}: ~${(target / 1e6).toFixed(0)} MB, ${layerCount} layers, ${
      compression === "gzip" ? `${gz} -1` : "uncompressed"
    }`,
  );

  // Never pack the work dir itself (or anything under /tmp, /proc ...).
  const skip = (p: string) =>
    p === realWork || p.startsWith(`${realWork}/`) ||
    p.startsWith("/usr/lib/locale/locale-archive");
  // One walker per source directory: layer i draws from source i (round robin), moving on
  // to the next source when one runs out, so layers differ the way real ones do (libraries,
  // data, binaries).
  const walkers = SOURCES.map((dir) => walkFiles(dir, skip));
  const exhausted = new Set<number>();
  const nextFile = async (layer: number): Promise<FileEntry | undefined> => {
    for (let k = 0; k < walkers.length; k++) {
      const w = (layer + k) % walkers.length;
      if (exhausted.has(w)) continue;
      while (true) {
        const r = await walkers[w].next();
        if (r.done) {
          exhausted.add(w);
          break;
        }
        if (r.value.size <= MAX_FILE) return r.value;
      }
    }
    return undefined;
  };

  // Compressed/raw ratio: a first guess, then measured after every layer.
  let ratio = compression === "gzip" ? 0.4 : 1;
  let written = 0; // blob bytes so far
  const layers: { digest: string; size: number; diffId: string; files: number }[] = [];
  for (let i = 0;; i++) {
    const remainingLayers = Math.max(1, layerCount - i);
    const want = (target - written) / remainingLayers; // compressed bytes for this layer
    if (i >= layerCount && written >= target) break;
    const rawWant = Math.max(1, want / ratio);
    const files: FileEntry[] = [];
    let raw = 0;
    while (raw < rawWant) {
      const next = await nextFile(i);
      if (!next) break;
      files.push(next);
      raw += next.size + 512;
    }
    if (files.length === 0) {
      if (written < target) {
        log(verbose, `ran out of files at ${(written / 1e6).toFixed(1)} MB`);
      }
      break;
    }
    const list = `${tmp}/files-${i}`;
    await Deno.writeTextFile(list, files.map((f) => f.path + "\0").join(""));
    const layerTar = `${tmp}/layer-${i}.tar`;
    await run("tar", [
      "-C",
      "/",
      "--null",
      "--no-recursion",
      "--ignore-failed-read",
      "--warning=no-file-changed",
      "--format=pax",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "--mtime=@1700000000",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "-T",
      list,
      "-cf",
      layerTar,
    ]);
    const diff = await sha256File(layerTar);
    let blobFile = layerTar;
    if (compression === "gzip") {
      blobFile = `${layerTar}.gz`;
      await run("sh", ["-c", `${gz} -1 -n -c '${layerTar}' > '${blobFile}'`]);
    }
    const blob = compression === "gzip" ? await sha256File(blobFile) : diff;
    await Deno.rename(blobFile, `${layoutDir}/blobs/sha256/${blob.hex}`);
    await Deno.remove(layerTar).catch(() => {});
    layers.push({
      digest: `sha256:${blob.hex}`,
      size: blob.size,
      diffId: `sha256:${diff.hex}`,
      files: files.length,
    });
    written += blob.size;
    ratio = Math.min(1, Math.max(0.05, blob.size / Math.max(1, diff.size)));
    log(
      verbose,
      `layer ${i + 1}: ${files.length} files, ${(diff.size / 1e6).toFixed(1)} MB raw → ${
        (blob.size / 1e6).toFixed(1)
      } MB (total ${(written / 1e6).toFixed(1)} MB)`,
    );
    if (i + 1 >= layerCount && written >= target * 0.97) break;
  }
  await Promise.all(walkers.map((w) => w.return(undefined)));
  if (layers.length < 4) throw new Error(`only ${layers.length} layers could be built`);

  const layerMediaType = compression === "gzip"
    ? "application/vnd.oci.image.layer.v1.tar+gzip"
    : "application/vnd.oci.image.layer.v1.tar";
  const created = "2024-01-01T00:00:00Z";
  const config = {
    created,
    architecture: "amd64",
    os: "linux",
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/sh"],
      WorkingDir: "/",
      Labels: { "org.opencontainers.image.title": "lading bench image" },
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: [
      ...layers.map((l, i) => ({
        created,
        created_by: `COPY files part ${i + 1} (${l.files} files) / # buildkit`,
        comment: "lading bench",
      })),
      { created, created_by: 'CMD ["/bin/sh"]', empty_layer: true },
    ],
  };
  const configDesc = await writeJsonBlob(layoutDir, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configDesc },
    layers: layers.map((l) => ({ mediaType: layerMediaType, digest: l.digest, size: l.size })),
  };
  const manifestDesc = await writeJsonBlob(layoutDir, manifest);
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...manifestDesc,
      platform: { architecture: "amd64", os: "linux" },
      annotations: {
        "io.containerd.image.name": BENCH_NAME,
        "org.opencontainers.image.ref.name": BENCH_REF,
      },
    }],
  };
  await Deno.writeTextFile(`${layoutDir}/index.json`, JSON.stringify(index));
  await Deno.writeTextFile(
    `${layoutDir}/oci-layout`,
    JSON.stringify({ imageLayoutVersion: "1.0.0" }),
  );
  await run("tar", ["-C", layoutDir, "--sort=name", "-cf", archive, "."]);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  const bytes = (await Deno.stat(archive)).size;
  await Deno.writeTextFile(
    meta,
    JSON.stringify(
      {
        bytes,
        compression,
        manifest: manifestDesc.digest,
        layers: layers.map((l) => ({ digest: l.digest, size: l.size, files: l.files })),
      },
      null,
      2,
    ),
  );
  log(
    verbose,
    `built ${archive}: ${(bytes / 1e6).toFixed(1)} MB, ${layers.length} layers in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
  return { archive, layoutDir, bytes };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const [, v] = args.splice(i, 2);
    return v;
  };
  const gib = args.indexOf("--gib");
  if (gib >= 0) args.splice(gib, 1);
  const bytes = flag("--bytes");
  const layers = flag("--layers");
  const workDir = args[0] ?? Deno.env.get("LADING_BENCH_DIR") ?? "/tmp/lading-bench";
  const img = await makeBenchImage(workDir, {
    targetBytes: gib >= 0 ? 1 << 30 : bytes ? Number(bytes) : undefined,
    layers: layers ? Number(layers) : undefined,
  });
  console.log(JSON.stringify(img));
}
