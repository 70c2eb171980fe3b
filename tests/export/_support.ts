/**
 * Helpers for the export, gc, check and interop tests: temporary directories, sources
 * from bytes, archives read back into maps, small multi-platform images, and the CLI run
 * as a subprocess.
 * @module
 */
import { importImages, type ImportOptions, type ImportResult } from "../../src/import/mod.ts";
import type { ImportSource } from "../../src/import/source.ts";
import { readTar } from "../../src/tar.ts";
import type { Store } from "../../src/store/types.ts";
import type { Descriptor } from "../../src/types.ts";
import {
  blobsOf,
  buildImage,
  buildIndex,
  type BuiltBlob,
  type BuiltImage,
  jsonBlob,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";

/** The repository root (the CLI's working directory). */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "lading-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** A stream over bytes, in chunks of at most 64 KiB. */
export function streamOf(bytes: Uint8Array, chunk = 65536): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.byteLength) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** An import source over archive bytes. */
export function sourceOf(bytes: Uint8Array, label = "archive.tar"): ImportSource {
  return { kind: "stream", label, stream: streamOf(bytes), size: bytes.byteLength };
}

/** Imports archive bytes. */
export function importBytes(
  store: Store,
  bytes: Uint8Array,
  options: ImportOptions = {},
): Promise<ImportResult> {
  return importImages(store, sourceOf(bytes), options);
}

/** Reads a whole stream. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** One archive member as read back. */
export interface ReadMember {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly bytes: Uint8Array;
}

/** Reads a tar into path → member, in archive order (strict reader). */
export async function readArchive(bytes: Uint8Array): Promise<Map<string, ReadMember>> {
  const out = new Map<string, ReadMember>();
  for await (const e of readTar(streamOf(bytes))) {
    out.set(e.name, {
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      bytes: await collect(e.body),
    });
  }
  return out;
}

/** Parses a JSON member of an archive. */
export function jsonMember<T = Record<string, unknown>>(
  members: Map<string, ReadMember>,
  path: string,
): T {
  const m = members.get(path);
  if (!m) throw new Error(`no ${path} in the archive`);
  return JSON.parse(new TextDecoder().decode(m.bytes)) as T;
}

/** A two-platform image (amd64, arm64) with an attestation for amd64, as built pieces. */
export interface MultiImage {
  amd64: BuiltImage;
  arm64: BuiltImage;
  attestation: BuiltBlob[];
  attestationDescriptor: Descriptor;
  index: BuiltBlob;
  blobs: BuiltBlob[];
}

/** Builds {@link MultiImage}; `seed` makes the layer contents distinct per call site. */
export async function multiImage(seed = "m"): Promise<MultiImage> {
  const amd64 = await buildImage({
    layers: [
      { files: [{ path: "shared", content: `shared ${seed}` }] },
      { files: [{ path: "amd", content: `amd64 ${seed}` }] },
    ],
    platform: { os: "linux", architecture: "amd64" },
  });
  const arm64 = await buildImage({
    layers: [
      { files: [{ path: "shared", content: `shared ${seed}` }] },
      { files: [{ path: "arm", content: `arm64 ${seed}` }] },
    ],
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
  });
  const statement = await jsonBlob(
    { _type: "https://in-toto.io/Statement/v0.1", seed },
    "application/vnd.in-toto+json",
  );
  const attConfig = await jsonBlob({
    architecture: "unknown",
    os: "unknown",
    rootfs: { type: "layers", diff_ids: [] },
  }, "application/vnd.oci.image.config.v1+json");
  const attManifest = await jsonBlob(
    {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: attConfig.descriptor,
      layers: [statement.descriptor],
    },
    "application/vnd.oci.image.manifest.v1+json",
  );
  const attestationDescriptor: Descriptor = {
    ...attManifest.descriptor,
    platform: { os: "unknown", architecture: "unknown" },
    annotations: {
      "vnd.docker.reference.digest": amd64.manifest.descriptor.digest,
      "vnd.docker.reference.type": "attestation-manifest",
    },
  };
  const index = await buildIndex([amd64, arm64], { extra: [attestationDescriptor] });
  const attestation = [attManifest, attConfig, statement];
  return {
    amd64,
    arm64,
    attestation,
    attestationDescriptor,
    index,
    blobs: [index, ...blobsOf(amd64), ...blobsOf(arm64), ...attestation],
  };
}

/** An oci-archive of one multi-platform image named `name` (full name in ref.name). */
export async function multiArchive(
  name: string,
  seed = "m",
): Promise<{ image: MultiImage; bytes: Uint8Array }> {
  const image = await multiImage(seed);
  const files = layoutFiles([{ descriptor: image.index.descriptor, refName: name }], image.blobs);
  return { image, bytes: await tarOfFiles(files) };
}

/** An oci-archive of one single-platform image. */
export async function singleArchive(
  name: string,
  seed = "s",
): Promise<{ image: BuiltImage; bytes: Uint8Array }> {
  const image = await buildImage({
    layers: [
      { files: [{ path: "etc/", type: "directory" }, { path: "etc/hostname", content: seed }] },
      { files: [{ path: "data", content: `data ${seed}`.repeat(100) }] },
    ],
  });
  const files = layoutFiles(
    [{ descriptor: image.manifest.descriptor, refName: name }],
    blobsOf(image),
  );
  return { image, bytes: await tarOfFiles(files) };
}

/** The result of a CLI run. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly bytes: Uint8Array;
}

/** Runs `deno run -A cli.ts ...args` from the repository root. */
export async function runCli(
  args: string[],
  options: { store?: string; stdin?: Uint8Array; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "cli.ts", ...args],
    cwd: ROOT,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { ...(options.store ? { LADING_STORE: options.store } : {}), ...options.env },
  });
  const child = cmd.spawn();
  if (options.stdin) {
    const w = child.stdin.getWriter();
    await w.write(options.stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    bytes: out.stdout,
  };
}
