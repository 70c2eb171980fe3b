/**
 * The soak's inputs, generated at run time from a seed: images of realistic shape (a large
 * base layer, a few middle ones, small top layers; each layer a tree of incompressible
 * "binaries" and compressible text files, gzip-compressed by lading's own layer builder)
 * written with lading's build API into a staging store, then exported in the four input
 * shapes `lading import` takes: an oci-archive (`tar`), the same gzip-compressed (`gzip`),
 * a `docker save` archive (`docker`) and an OCI layout directory (`directory`).
 *
 * Variants of an image share every layer but the top one (different manifests and
 * configs, like rebuilds of one application): the concurrent phase imports several at
 * once so that imports, `images rm` and `gc` race over the same base layers.
 * @module
 */
import {
  appendLayer,
  emptyImage,
  type ImageDraft,
  type LayerFile,
  planExport,
  setConfig,
  writeImage,
} from "../../mod.ts";
import { openFsStore, writeArchiveFile } from "../../src/fs.ts";
import type { Descriptor } from "../../src/types.ts";
import { noise } from "../import/_support.ts";

/** The four input shapes. */
export const SHAPES = ["tar", "gzip", "docker", "directory"] as const;
/** One input shape. */
export type Shape = typeof SHAPES[number];

/** One generated input. */
export interface SoakArchive {
  /** Input shape. */
  readonly shape: Shape;
  /** Variant number (0 is the one killed; the concurrent phase uses all). */
  readonly variant: number;
  /** Path of the archive file or layout directory. */
  readonly path: string;
  /** The name `lading import` records for it. */
  readonly name: string;
  /** Bytes of the archive (of every file, for a directory). */
  readonly bytes: number;
}

/** Everything generated. */
export interface SoakInputs {
  /** Every archive, by shape and variant. */
  readonly archives: readonly SoakArchive[];
  /** Size of every blob any archive can put into a store (including the docker ones). */
  readonly blobSizes: ReadonlyMap<string, number>;
  /** An unrelated small image (its own layers): it must survive everything untouched. */
  readonly bystander: SoakArchive;
  /** Layer sizes of one image (compressed bytes), base first. */
  readonly layerSizes: readonly number[];
}

/** Options of {@link generateInputs}. */
export interface GenerateOptions {
  /** Where the archives go (created). */
  readonly dir: string;
  /** Target size of one image's compressed layers, in bytes. */
  readonly size: number;
  /** How many variants (top layers) per shape. */
  readonly variants: number;
  /** The seed: the same seed and sizes give the same bytes. */
  readonly seed: number;
}

/** Fractions of the image size per base layer (a typical distribution image). */
const LAYER_PROFILE = [0.4, 0.17, 0.12, 0.09, 0.07, 0.05, 0.04, 0.03, 0.02, 0.008, 0.002];
/** Fraction of the image size of a variant's own top layer. */
const VARIANT_FRACTION = 0.01;
/** Largest single file of a layer. */
const MAX_FILE = 8 * 1024 * 1024;

/** mulberry32: a small, fast, seedable PRNG (32-bit state). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes, produced in 1 MiB chunks (each its own seed) when the layer is written. */
function noiseFile(seed: number, size: number): LayerFile["content"] {
  return {
    size,
    open() {
      let left = size;
      let chunk = 0;
      return Promise.resolve(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (left === 0) return controller.close();
            const n = Math.min(left, 1024 * 1024);
            left -= n;
            controller.enqueue(noise(((seed * 65_537) ^ chunk++) >>> 0, n));
          },
        }),
      );
    },
  };
}

const WORDS = (
  "the of and to in is that for it as with was on be by this are or at from which an have " +
  "config service library module include define return static const struct void unsigned " +
  "license copyright version package depends description install usr share lib bin etc " +
  "python3 locale timezone error warning debug info message handler request response"
).split(" ").map((w) => new TextEncoder().encode(w));

/** Text-like bytes (about 3-4× compressible), deterministic from the seed. */
function textFile(seed: number, size: number): Uint8Array {
  const rand = prng(seed);
  const out = new Uint8Array(size);
  let at = 0;
  let col = 0;
  while (at < size) {
    const w = WORDS[Math.floor(rand() * WORDS.length)];
    const n = Math.min(w.length, size - at);
    out.set(w.subarray(0, n), at);
    at += n;
    col += n;
    if (at < size) {
      out[at++] = col > 72 ? 10 : 32;
      if (col > 72) col = 0;
    }
  }
  return out;
}

/**
 * The files of one layer of about `size` compressed bytes: three quarters of them
 * incompressible files (≤ 8 MiB each), the rest text files of 2-64 kB in directories.
 */
function layerFiles(seed: number, size: number, label: string): LayerFile[] {
  const rand = prng(seed);
  const files: LayerFile[] = [{ path: `${label}/`, type: "directory" }];
  let binary = Math.max(1, Math.floor(size * 0.75));
  let n = 0;
  while (binary > 0) {
    const s = Math.min(binary, Math.max(4096, Math.floor(MAX_FILE * (0.25 + rand()))));
    files.push({ path: `${label}/lib/bin-${n++}.so`, content: noiseFile(seed * 1000 + n, s) });
    binary -= s;
  }
  // Text compresses about 3.5×: a quarter of the compressed size is ~0.9× the size in text.
  let text = Math.floor(size * 0.25 * 3.5);
  let t = 0;
  while (text > 0) {
    const s = Math.min(text, 2048 + Math.floor(rand() * 62 * 1024));
    files.push({
      path: `${label}/share/doc-${Math.floor(t / 50)}/file-${t}.txt`,
      content: textFile(seed * 7919 + t, s),
    });
    t++;
    text -= s;
  }
  files.push({ path: `${label}/share/`, type: "directory" }, {
    path: `${label}/lib/`,
    type: "directory",
  });
  return files;
}

/** Seed of a layer: derived from the run's seed and the layer's role. */
function layerSeed(seed: number, role: number): number {
  return ((seed * 1_000_003) ^ (role * 7_919)) >>> 0 || 1;
}

/** A layout directory holding `names` from a store: oci-layout, index.json, blobs. */
async function writeLayoutDirectory(
  storeDir: string,
  dir: string,
  entries: { descriptor: Descriptor; name: string }[],
  blobs: readonly Descriptor[],
): Promise<number> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const enc = new TextEncoder();
  await Deno.writeFile(`${dir}/oci-layout`, enc.encode('{"imageLayoutVersion":"1.0.0"}'));
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: entries.map((e) => ({
      mediaType: e.descriptor.mediaType,
      digest: e.descriptor.digest,
      size: e.descriptor.size,
      annotations: {
        "org.opencontainers.image.ref.name": e.name,
        "io.containerd.image.name": e.name,
      },
    })),
  };
  const indexBytes = enc.encode(JSON.stringify(index));
  await Deno.writeFile(`${dir}/index.json`, indexBytes);
  let bytes = indexBytes.byteLength + 30;
  for (const b of blobs) {
    const hex = b.digest.slice("sha256:".length);
    await Deno.copyFile(`${storeDir}/blobs/sha256/${hex}`, `${dir}/blobs/sha256/${hex}`);
    bytes += b.size;
  }
  return bytes;
}

/** Sizes of the blobs of the exported images, read from a store that imported them. */
async function collectBlobSizes(storeDir: string, into: Map<string, number>) {
  for await (const e of Deno.readDir(`${storeDir}/blobs/sha256`)) {
    into.set(`sha256:${e.name}`, (await Deno.stat(`${storeDir}/blobs/sha256/${e.name}`)).size);
  }
}

/**
 * Builds the images into a staging store under `dir` and writes every shape of every
 * variant (and the bystander, as an oci-archive) next to it.
 */
export async function generateInputs(options: GenerateOptions): Promise<SoakInputs> {
  const { dir, size, variants, seed } = options;
  await Deno.mkdir(dir, { recursive: true });
  const stagingDir = `${dir}/staging-store`;
  const staging = await openFsStore(stagingDir);
  const archives: SoakArchive[] = [];
  const blobSizes = new Map<string, number>();
  let bystander: SoakArchive;
  const layerSizes: number[] = [];
  try {
    let base: ImageDraft = emptyImage({ platform: { os: "linux", architecture: "amd64" } });
    for (const [i, fraction] of LAYER_PROFILE.entries()) {
      base = await appendLayer(staging, base, {
        files: layerFiles(layerSeed(seed, i + 1), Math.floor(size * fraction), `layer${i}`),
        level: 1,
        history: { createdBy: `RUN build step ${i}` },
      });
      layerSizes.push(base.layers[base.layers.length - 1].size);
    }
    base = setConfig(base, { Cmd: ["/layer0/lib/bin-0.so"], Env: { LANG: "C.UTF-8" } });

    const variantNames = (shape: Shape, v: number) => `soak.test/${shape}:v${v}`;
    const drafts: ImageDraft[] = [];
    for (let v = 0; v < variants; v++) {
      const top = await appendLayer(staging, base, {
        files: layerFiles(
          layerSeed(seed, 1000 + v),
          Math.floor(size * VARIANT_FRACTION),
          `app${v}`,
        ),
        level: 1,
        history: { createdBy: `COPY app${v} /app${v}` },
      });
      drafts.push(top);
      // The same image under one name per shape (docker: with Docker media types).
      for (const shape of SHAPES) {
        await writeImage(staging, shape === "docker" ? { ...top, docker: true } : top, {
          name: variantNames(shape, v),
        });
      }
    }
    if (variants > 0) layerSizes.push(drafts[0].layers[drafts[0].layers.length - 1].size);

    for (let v = 0; v < variants; v++) {
      for (const shape of SHAPES) {
        const name = variantNames(shape, v);
        const path = `${dir}/${shape}-v${v}${
          shape === "gzip" ? ".tar.gz" : shape === "directory" ? "" : ".tar"
        }`;
        const plan = await planExport(staging, [name], {
          format: shape === "docker" ? "docker" : "oci",
          gzip: shape === "gzip" ? 1 : undefined,
        });
        let bytes: number;
        if (shape === "directory") {
          const image = await staging.getImage(name);
          bytes = await writeLayoutDirectory(
            stagingDir,
            path,
            [{ descriptor: image.target, name }],
            plan.blobs,
          );
        } else {
          const file = await Deno.open(path, { write: true, create: true, truncate: true });
          await writeArchiveFile(staging, plan, { file });
          bytes = (await Deno.stat(path)).size;
        }
        archives.push({ shape, variant: v, path, name, bytes });
      }
    }

    // The bystander: small, with layers of its own.
    let other: ImageDraft = emptyImage({ platform: { os: "linux", architecture: "amd64" } });
    for (let i = 0; i < 2; i++) {
      other = await appendLayer(staging, other, {
        files: layerFiles(layerSeed(seed, 5000 + i), 64 * 1024, `other${i}`),
        history: { createdBy: `bystander ${i}` },
      });
    }
    const name = "soak.test/bystander:1";
    await writeImage(staging, other, { name });
    const path = `${dir}/bystander.tar`;
    const plan = await planExport(staging, [name]);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    await writeArchiveFile(staging, plan, { file });
    bystander = { shape: "tar", variant: 0, path, name, bytes: (await Deno.stat(path)).size };
  } finally {
    await staging.close();
  }
  await collectBlobSizes(stagingDir, blobSizes);
  // Docker archives are imported with a manifest lading builds as containerd does (not
  // the staging store's): its sizes are learnt from the first import (see soak.ts).
  await Deno.remove(stagingDir, { recursive: true });
  return { archives, blobSizes, bystander: bystander!, layerSizes };
}
