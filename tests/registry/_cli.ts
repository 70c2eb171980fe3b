/**
 * Driving the lading CLI in the registry tests: a store and an isolated credential
 * environment per test (HOME, DOCKER_CONFIG, XDG_RUNTIME_DIR, REGISTRY_AUTH_FILE in the
 * test's temp dir, so no real credentials are ever read), images imported from bytes built
 * in code, the `--json` results typed as the CLI contract says, and the checks every
 * failure must pass (one clear line on stderr, no stack trace).
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { pushBuiltImage, startFaultProxy, startRegistry } from "./_registry.ts";
import { type CliRun, ROOT, runCli } from "../export/_support.ts";
import type { Platform } from "../../src/types.ts";
import {
  blobsOf,
  buildImage,
  type BuiltBlob,
  type BuiltImage,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";

/** `pull --json` (CLI contract of issue #10). */
export interface PullJson {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  platforms: string[];
  blobs: { added: number; present: number; bytes: number; resumed: number };
}

/** `push --json` (CLI contract of issue #10). */
export interface PushJson {
  ref: string;
  digest: string;
  blobs: { uploaded: number; mounted: number; present: number; bytes: number };
}

const DENO_DIR = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;

/** A test's private world: a store and a home with no credentials in it. */
export interface World {
  readonly dir: string;
  readonly store: string;
  readonly env: Record<string, string>;
  /** Runs lading with this store and environment; `code` (default 0) is asserted. */
  run(args: string[], options?: { code?: number; stdin?: Uint8Array }): Promise<CliRun>;
  /** Runs lading expecting success and parses stdout as JSON. */
  json<T>(args: string[]): Promise<T>;
  /** Another store under the same home. */
  other(name: string): World;
  /** Starts lading without waiting (output discarded), e.g. to kill it mid-way. */
  spawn(args: string[]): Deno.ChildProcess;
}

/** Makes a world under `dir` (a temp dir the test owns). */
export async function world(dir: string, storeName = "store"): Promise<World> {
  const home = `${dir}/home`;
  await Deno.mkdir(`${home}/.docker`, { recursive: true });
  await Deno.mkdir(`${home}/run`, { recursive: true });
  const env = {
    // The test's HOME must not move Deno's own cache (npm packages would download again).
    DENO_DIR: DENO_DIR,
    HOME: home,
    DOCKER_CONFIG: `${home}/.docker`,
    XDG_RUNTIME_DIR: `${home}/run`,
    REGISTRY_AUTH_FILE: `${home}/no-auth.json`,
    NO_COLOR: "1",
  };
  const make = (store: string): World => ({
    dir,
    store,
    env,
    async run(args, options = {}) {
      const r = await runCli(args, { store, env, stdin: options.stdin });
      const want = options.code ?? 0;
      assertEquals(
        r.code,
        want,
        `lading ${
          args.join(" ")
        } exited ${r.code}, expected ${want}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`,
      );
      return r;
    },
    async json<T>(args: string[]) {
      const r = await this.run([...args, "--json"]);
      return JSON.parse(r.stdout) as T;
    },
    other: (name) => make(`${dir}/${name}`),
    spawn(args) {
      return new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", "cli.ts", ...args],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "null",
        env: { LADING_STORE: store, ...env },
      }).spawn();
    },
  });
  return make(`${dir}/${storeName}`);
}

/** Imports images into the world's store from an OCI layout built in code. */
export async function importBuilt(
  w: World,
  entries: { name: string; root: BuiltBlob }[],
  blobs: BuiltBlob[],
): Promise<void> {
  const files = layoutFiles(
    entries.map((e) => ({ descriptor: e.root.descriptor, refName: e.name })),
    blobs,
  );
  await w.run(["import", "-"], { stdin: await tarOfFiles(files) });
}

/** Imports one built image under `name`. */
export function importImage(w: World, name: string, image: BuiltImage): Promise<void> {
  return importBuilt(w, [{ name, root: image.manifest }], blobsOf(image));
}

/** name → digest of the world's images (`images ls --json`). */
export async function imagesOf(w: World): Promise<Map<string, string>> {
  const list = await w.json<{ name: string; digest: string }[]>(["images", "ls"]);
  return new Map(list.map((e) => [e.name, e.digest]));
}

/** The `images ls --json` entry of one name. */
export async function imageEntry(
  w: World,
  name: string,
): Promise<
  {
    name: string;
    digest: string;
    platforms: string[];
    incomplete?: boolean;
    missingPlatforms?: string[];
  } | undefined
> {
  const list = await w.json<
    {
      name: string;
      digest: string;
      platforms: string[];
      incomplete?: boolean;
      missingPlatforms?: string[];
    }[]
  >(["images", "ls"]);
  return list.find((e) => e.name === name);
}

/** A blob's bytes from the world's store (`content get`). */
export async function storeBlob(w: World, digest: string): Promise<Uint8Array> {
  return (await w.run(["content", "get", digest])).bytes;
}

/** The digests of every blob in the world's store. */
export async function storeDigests(w: World): Promise<Set<string>> {
  const list = await w.json<{ digest: string }[]>(["content", "ls"]);
  return new Set(list.map((e) => e.digest));
}

/**
 * A listing of the store's visible state: its names ({@link namesFile}) and every blob file
 * name with its size (ingest/ is not visible content).
 */
export async function visibleState(store: string): Promise<string> {
  const parts: string[] = [await namesFile(store)];
  const walk = async (d: string) => {
    try {
      for await (const e of Deno.readDir(d)) {
        const p = `${d}/${e.name}`;
        if (e.isDirectory) await walk(p);
        else parts.push(`${p.slice(store.length)} ${(await Deno.stat(p)).size}`);
      }
    } catch {
      // no such directory yet
    }
  };
  await walk(`${store}/blobs`);
  return parts.sort().join("\n");
}

/**
 * A failure as users must see it: exactly one non-empty line on stderr, no stack trace,
 * containing every `needle` (case-insensitive). Returns the line.
 */
export function oneClearLine(r: CliRun, ...needles: string[]): string {
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  const errorLines = lines.filter((l) => !/^warning\b/i.test(l.trim()));
  assertEquals(errorLines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert(!/\n\s+at /.test(r.stderr), `stack trace on stderr:\n${r.stderr}`);
  for (const n of needles) {
    assert(
      errorLines[0].toLowerCase().includes(n.toLowerCase()),
      `stderr should mention "${n}": ${errorLines[0]}`,
    );
  }
  return errorLines[0];
}

/** Asserts a secret never appears in a run's output. */
export function notPrinted(r: CliRun, secret: string): void {
  assert(!r.stdout.includes(secret), "secret printed on stdout");
  assert(!r.stderr.includes(secret), "secret printed on stderr");
}

/** Bytes that do not compress (so sizes on the wire are what the test says). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

/**
 * A small image with uncompressed layers of the given sizes (random bytes in one file
 * each), so a test can cut a body at a known offset.
 */
export function sampleImage(
  layerSizes: number[] = [300_000, 5_000],
  options: { platform?: Platform; docker?: boolean; label?: string } = {},
): Promise<BuiltImage> {
  return buildImage({
    platform: options.platform,
    docker: options.docker,
    config: { Cmd: ["/bin/sh"], Labels: { "lading.test": options.label ?? "sample" } },
    layers: layerSizes.map((n, i) => ({
      compression: "none" as const,
      files: [{ path: `layer${i}.bin`, content: randomBytes(n) }],
    })),
  });
}

/**
 * The store's index.json (its names); "(no names)" when there is none or it lists nothing
 * (a store that does not exist yet and one created empty look the same).
 */
export async function namesFile(store: string): Promise<string> {
  const text = await Deno.readTextFile(`${store}/index.json`).catch(() => "");
  try {
    if (!text || JSON.parse(text).manifests?.length === 0) return "(no names)";
  } catch {
    // not JSON: compare the text itself
  }
  return text;
}

/** Size of the big layer of {@link imageBehindProxy}. */
export const BIG = 400_000;

/**
 * A registry with a two-layer image (`faults/app:1`, a 400 KB layer and a small one) behind
 * a fault proxy, and a world to pull it into; `ref` goes through the proxy.
 */
export async function imageBehindProxy(dir: string, options: { auth?: "basic" } = {}) {
  const reg = await startRegistry({ auth: options.auth ?? "none" });
  const proxy = await startFaultProxy(reg.url);
  const image = await sampleImage([BIG, 3000]);
  await pushBuiltImage(reg, "faults/app", "1", image);
  const w = await world(dir);
  const flags = options.auth ? ["--plain-http", "--user", `${reg.username}:${reg.password}`] : [
    "--plain-http",
  ];
  const ref = `${proxy.host}/faults/app:1`;
  const big = image.layers[0].descriptor;
  return {
    reg,
    proxy,
    image,
    w,
    ref,
    big,
    flags,
    [Symbol.asyncDispose]: async () => {
      await proxy.stop();
      await reg.stop();
    },
  };
}

/** A path test for one blob. */
export const bigBlobPath = (digest: string) => new RegExp(`/blobs/${digest}$`);
