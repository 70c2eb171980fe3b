/**
 * The hostile corpus: every class of bad input (tar, layout, docker, compression and bombs,
 * store level, unpack) as cases generated in code. Each case prepares a store that holds
 * one good image, then runs one `lading` command in a child process.
 * @module
 */
import * as zlib from "node:zlib";
import { createHash } from "node:crypto";
import * as mt from "../../src/media_types.ts";
import {
  blob,
  blobsOf,
  buildImage,
  type BuiltImage,
  compress,
  dockerArchiveFiles,
  jsonBlob,
  layoutFiles,
  tarOf,
  tarOfFiles,
} from "../helpers/images.ts";
import { paxMember, rawMember, rawTar } from "../helpers/tars.ts";
import type { Descriptor } from "../../src/types.ts";
import { gzipTrailerCases } from "./_gzip_cases.ts";

const enc = new TextEncoder();
const MIB = 1024 * 1024;

/** One hostile case. */
export interface HostileCase {
  /** What it is, for the test name. */
  name: string;
  /** Files written into the case's work directory (`input` is the usual input). */
  files?: () => Promise<Map<string, Uint8Array>>;
  /** Changes the store (after the good image is in it) before the command runs. */
  prepareStore?: (store: string) => Promise<void>;
  /** The lading arguments; `$W` is the work directory, `$S` the store. */
  args: string[];
  /** Expected exit code (default 1). */
  code?: number;
  /** A pattern the stderr line must match. */
  message?: RegExp;
  /** A pattern the stderr must NOT match. */
  notMessage?: RegExp;
  /** The store may change (an accepted input): only exit code, output shape and RSS. */
  accepted?: boolean;
  /** Import `$W/input` into the store before (the command reads a stored image). */
  importFirst?: boolean;
  /** More assertions after the command (the store and work directory). */
  after?: (store: string, work: string) => Promise<void>;
  /** A shell prefix (ulimit). */
  shellPrefix?: string;
}

/** A layout archive (tar) of one image named `name`. */
export async function layoutTar(image: BuiltImage, name = "example.com/hostile:1") {
  return await tarOfFiles(
    layoutFiles([{ descriptor: image.manifest.descriptor, refName: name }], blobsOf(image)),
  );
}

/** An image whose single layer has these bytes (digest and manifest consistent). */
export async function imageWithLayer(
  bytes: Uint8Array,
  mediaType: string,
  base: BuiltImage,
  diffId?: string,
) {
  const layer = await blob(bytes, mediaType);
  const config = diffId === undefined ? base.config : await jsonBlob({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [diffId] },
  }, mt.OCI_CONFIG);
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: config.descriptor,
    layers: [layer.descriptor],
  }, mt.OCI_MANIFEST);
  return { ...base, manifest, config, layers: [layer] };
}

/** A manifest whose config is these raw bytes. */
async function imageWithConfigBytes(config: Uint8Array, base: BuiltImage) {
  const c = await blob(config, mt.OCI_CONFIG);
  const manifest = await jsonBlob({
    schemaVersion: 2,
    mediaType: mt.OCI_MANIFEST,
    config: c.descriptor,
    layers: base.layers.map((l) => l.descriptor),
  }, mt.OCI_MANIFEST);
  return { ...base, manifest, config: c };
}

/** A layout tar whose manifest is given as raw bytes. */
async function layoutWithManifestBytes(bytes: Uint8Array, base: BuiltImage) {
  const m = await blob(bytes, mt.OCI_MANIFEST);
  return await tarOfFiles(
    layoutFiles([{ descriptor: m.descriptor, refName: "example.com/hostile:1" }], [
      m,
      base.config,
      ...base.layers,
    ]),
  );
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const b = bytes.slice();
  b[at] ^= 0xff;
  return b;
}

/**
 * A tar of one member `junk` of `size` zero bytes (and the end marker, or the members of
 * the tar `then`), compressed as a stream (no big buffer); `diffId` is the sha256 of the
 * uncompressed tar.
 */
async function zeroBomb(size: number, kind: "gzip" | "zstd", then?: Uint8Array) {
  const header = rawMember({ name: "junk", size, body: new Uint8Array(0) }).subarray(0, 512);
  const z = kind === "gzip" ? zlib.createGzip({ level: 9 }) : zlib.createZstdCompress();
  const hash = createHash("sha256");
  const parts: Uint8Array[] = [];
  z.on("data", (d: Uint8Array) => parts.push(new Uint8Array(d)));
  const done = new Promise((r) => z.on("end", r));
  const put = async (bytes: Uint8Array) => {
    hash.update(bytes);
    if (!z.write(bytes)) await new Promise((r) => z.once("drain", r));
  };
  await put(header);
  const zeros = new Uint8Array(MIB);
  for (let left = size; left > 0; left -= MIB) await put(zeros.subarray(0, Math.min(MIB, left)));
  if (size % 512) await put(new Uint8Array(512 - (size % 512)));
  // More members after it (a tar with its own end marker), or the end marker.
  await put(then ?? new Uint8Array(1024));
  z.end();
  await done;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return { bytes: out, diffId: `sha256:${hash.digest("hex")}` };
}

/** 20 uncompressed layers of ~3.9 MiB, each starting with a `nix/` directory member. */
async function nixDockerArchive(): Promise<Uint8Array> {
  const layers = [];
  for (let i = 0; i < 20; i++) {
    const body = new Uint8Array(3_900_000);
    for (let j = 0; j < body.length; j += 4096) body[j] = (i * 31 + j) & 0xff;
    layers.push({
      rawTar: rawTar([
        rawMember({ name: "nix/", type: "5", body: new Uint8Array(0) }),
        rawMember({ name: `nix/store/${i}`, body }),
      ]),
      files: [],
      compression: "none" as const,
    });
  }
  const image = await buildImage({ docker: true, layers });
  return await tarOfFiles(await dockerArchiveFiles([{ image, repoTags: ["example.com/nix:1"] }]));
}

const one = (bytes: Uint8Array) => Promise.resolve(new Map([["input", bytes]]));

/** Flips one byte of a stored blob (its size unchanged). */
async function flipStoredBlob(store: string, digest: string): Promise<void> {
  const path = `${store}/blobs/sha256/${digest.slice(7)}`;
  await Deno.chmod(path, 0o644);
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, flip(bytes, bytes.length - 1));
}

/** Every case of the corpus. */
export async function hostileCases(): Promise<HostileCase[]> {
  const base = await buildImage({
    layers: [{ files: [{ path: "etc/hostile", content: "hostile\n" }], compression: "zstd" }],
  });
  const good = await layoutTar(base);
  const gz = await compress(good, "gzip");
  const zst = await compress(good, "zstd");
  const zstChecked = new Uint8Array(zlib.zstdCompressSync(good, {
    params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
  }));
  const layerTar = await tarOf([{ path: "a.txt", content: "a".repeat(5000) }]);
  const zLayer = new Uint8Array(zlib.zstdCompressSync(layerTar, {
    params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
  }));
  const badZLayer = await imageWithLayer(flip(zLayer, zLayer.length - 2), mt.OCI_LAYER_ZSTD, base);
  const badGzLayer = await imageWithLayer(
    flip(await compress(layerTar, "gzip"), 40),
    mt.OCI_LAYER_GZIP,
    base,
  );
  const bomb = await zeroBomb(300 * MIB, "gzip");
  const bombLayer = await imageWithLayer(bomb.bytes, mt.OCI_LAYER_GZIP, base, bomb.diffId);
  const longName = "n".repeat(5000);
  const longNameLayer = await imageWithLayer(
    await compress(
      rawTar([paxMember({ path: longName }), rawMember({ name: "placeholder", body: "x" })]),
      "gzip",
    ),
    mt.OCI_LAYER_GZIP,
    base,
  );
  const deep = enc.encode("[".repeat(1_000_000) + "]".repeat(1_000_000));
  const manifestText = new TextDecoder().decode(base.manifest.bytes);
  const fractional = enc.encode(
    manifestText.replace(
      `"size":${base.config.descriptor.size}`,
      `"size":${base.config.descriptor.size}.0`,
    ),
  );
  const cases: HostileCase[] = [
    // compression
    {
      name: "a .tar.zst whose frame checksum is wrong",
      files: () => one(flip(zstChecked, zstChecked.length - 2)),
      args: ["import", "$W/input"],
      message: /zstd/,
    },
    {
      name: "a .tar.zst cut in the middle",
      files: () => one(zst.subarray(0, zst.length >> 1)),
      args: ["import", "$W/input"],
    },
    {
      name: "a .tar.gz with a flipped byte",
      files: () => one(flip(gz, gz.length >> 1)),
      args: ["import", "$W/input"],
      message: /gzip/,
    },
    {
      name: "a truncated .tar.gz",
      files: () => one(gz.subarray(0, gz.length - 10)),
      args: ["import", "$W/input"],
      message: /gzip/,
    },
    {
      name: "a .tar.gz with trailing garbage",
      files: () => one(new Uint8Array([...gz, 1, 2, 3, 4, 5])),
      args: ["import", "$W/input"],
    },
    {
      name: "a zstd bomb: one tar member of 300 MiB of zeros",
      files: async () => one((await zeroBomb(300 * MIB, "zstd")).bytes),
      args: ["import", "$W/input"],
      message: /oci-layout|manifest\.json/,
    },
    {
      name:
        "a valid image after a 300 MiB member nothing references (zstd): imports, the member never staged",
      files: async () => one((await zeroBomb(300 * MIB, "zstd", good)).bytes),
      args: ["import", "$W/input"],
      code: 0,
      accepted: true,
    },
    {
      name: "--verify-diff-ids on an image whose zstd layer is corrupt",
      files: async () => one(await layoutTar(badZLayer)),
      args: ["import", "--verify-diff-ids", "$W/input"],
      message: /zstd/,
    },
    {
      name: "--verify-diff-ids on an image whose gzip layer is corrupt",
      files: async () => one(await layoutTar(badGzLayer)),
      args: ["import", "--verify-diff-ids", "$W/input"],
      message: /gzip/,
    },
    // bombs in stored layers (the image is imported by prepareStore; commands read it)
    ...["layers", "ls", "images check --diff-ids", "waste", "diff --layer 0", "cat"].map(
      (cmd): HostileCase => ({
        name: `${cmd} on a gzip layer that expands to 300 MiB`,
        files: async () => one(await layoutTar(bombLayer, "example.com/bomb:1")),
        importFirst: true,
        args: cmd === "cat"
          ? ["cat", "example.com/bomb:1", "/missing"]
          : [...cmd.split(" "), "example.com/bomb:1"],
        code: cmd === "cat" ? 1 : 0,
      }),
    ),
    {
      name: "unpack of an image whose zstd layer is corrupt",
      files: async () => one(await layoutTar(badZLayer, "example.com/badz:1")),
      args: ["unpack", "example.com/badz:1", "$W/root"],
      importFirst: true,
      message: /zstd/,
    },
    {
      name: "unpack of a layer with a 5,000-character member name",
      files: async () => one(await layoutTar(longNameLayer, "example.com/long:1")),
      args: ["unpack", "example.com/long:1", "$W/root"],
      importFirst: true,
    },
    // documents
    {
      name: "a 16-byte config that is not JSON",
      files: async () =>
        one(await layoutTar(await imageWithConfigBytes(enc.encode("this is no json!"), base))),
      args: ["import", "$W/input"],
      message: /is not one|invalid JSON/,
      notMessage: /limit/,
    },
    {
      name: "a config nested 1,000,000 deep",
      files: async () => one(await layoutTar(await imageWithConfigBytes(deep, base))),
      args: ["import", "$W/input"],
      message: /nested deeper/,
    },
    {
      name: "a descriptor size written as 347.0",
      files: async () => one(await layoutWithManifestBytes(fractional, base)),
      args: ["import", "$W/input"],
      message: /must be an integer/,
    },
    // valid input the old JSON sniffer refused (defect 5): must import
    {
      name: "a manifest that starts with 16 spaces, from a tar (valid: imports)",
      files: async () =>
        one(await layoutWithManifestBytes(enc.encode(" ".repeat(16) + manifestText), base)),
      args: ["import", "$W/input"],
      code: 0,
      accepted: true,
    },
    {
      name:
        "a Nix-style docker archive: 20 uncompressed layers whose first member is nix/ (valid: imports)",
      files: async () => one(await nixDockerArchive()),
      args: ["import", "$W/input"],
      code: 0,
      accepted: true,
    },
    // names
    ...[
      ["a newline and an ANSI escape", "example.com/a:1\n\x1b[31mforged   sha256:00"],
      ["a space", "example.com/a b:1"],
      ["300,000 characters", "example.com/" + "a".repeat(300_000) + ":1"],
      ["an uppercase repository", "example.com/Bad:1"],
    ].map(([what, name]): HostileCase => ({
      name: `an image name with ${what}`,
      files: async () => one(await layoutTar(base, name)),
      args: ["import", "$W/input"],
      message: /org\.opencontainers\.image\.ref\.name/,
    })),
    // store level
    {
      name: "a store whose lock is a directory",
      prepareStore: async (s) => {
        await Deno.remove(`${s}/lock`).catch(() => {});
        await Deno.mkdir(`${s}/lock`);
      },
      files: () => one(good),
      args: ["import", "$W/input"],
    },
    {
      name: "a store whose ingest is a file",
      prepareStore: async (s) => {
        await Deno.remove(`${s}/ingest`, { recursive: true });
        await Deno.writeFile(`${s}/ingest`, new Uint8Array(0));
      },
      files: () => one(good),
      args: ["import", "$W/input"],
    },
    {
      name: "a store whose leases is a file",
      prepareStore: async (s) => {
        await Deno.remove(`${s}/leases`, { recursive: true });
        await Deno.writeFile(`${s}/leases`, new Uint8Array(0));
      },
      files: () => one(good),
      args: ["import", "$W/input"],
    },
    {
      name: "a store whose blobs/sha256 is a file",
      prepareStore: async (s) => {
        await Deno.rename(`${s}/blobs/sha256`, `${s}/blobs-moved`);
        await Deno.writeFile(`${s}/blobs/sha256`, new Uint8Array(0));
      },
      files: () => one(good),
      args: ["import", "$W/input"],
    },
    // the store's own documents are checked before anything is written, and a failed
    // import's rollback does not depend on reading them
    ...([
      ["is not JSON", (s: string) => Deno.writeTextFile(`${s}/index.json`, "{ not json")],
      ["is a directory", async (s: string) => {
        await Deno.remove(`${s}/index.json`);
        await Deno.mkdir(`${s}/index.json`);
      }],
      ["is over the 64 MiB cap", (s: string) => Deno.truncate(`${s}/index.json`, 65 * MIB)],
    ] as const).flatMap(([how, damage]) =>
      ["import", "gc"].map((cmd): HostileCase => ({
        name: `${cmd} on a store whose index.json ${how}`,
        files: () => one(good),
        prepareStore: async (s) => await damage(s),
        args: cmd === "gc" ? ["gc"] : ["import", "$W/input"],
        message: /index\.json/,
      }))
    ),
    // present means a regular file of the right size; damaged blobs are repaired
    ...(["truncated", "a symlink", "a FIFO"] as const).map((how): HostileCase => ({
      name: `re-import repairs a stored blob that is ${how}`,
      files: () => one(good),
      importFirst: true,
      prepareStore: async (s) => {
        const path = `${s}/blobs/sha256/${base.layers[0].descriptor.digest.slice(7)}`;
        if (how === "truncated") {
          await Deno.chmod(path, 0o644);
          await Deno.truncate(path, 3);
          return;
        }
        const saved = `${s}/../saved-layer`;
        await Deno.rename(path, saved);
        if (how === "a symlink") await Deno.symlink(saved, path);
        else {
          const r = await new Deno.Command("mkfifo", { args: [path] }).output();
          if (!r.success) throw new Error("mkfifo failed");
        }
      },
      args: ["import", "$W/input"],
      code: 0,
      accepted: true,
      after: async (s) => {
        const path = `${s}/blobs/sha256/${base.layers[0].descriptor.digest.slice(7)}`;
        const st = await Deno.lstat(path);
        if (!st.isFile || st.size !== base.layers[0].descriptor.size) {
          throw new Error(`blob not repaired: ${JSON.stringify(st)}`);
        }
      },
    })),
    // --verify-existing re-hashes what is present: a corrupt blob (right size, wrong bytes)
    // is repaired from the input, and never trusted when the input does not have it
    {
      name: "re-import --verify-existing repairs a stored blob with one flipped byte",
      files: () => one(good),
      importFirst: true,
      prepareStore: (s) => flipStoredBlob(s, base.layers[0].descriptor.digest),
      args: ["import", "--verify-existing", "$W/input"],
      code: 0,
      accepted: true,
      after: async (s) => {
        const path = `${s}/blobs/sha256/${base.layers[0].descriptor.digest.slice(7)}`;
        const hex = createHash("sha256").update(await Deno.readFile(path)).digest("hex");
        if (`sha256:${hex}` !== base.layers[0].descriptor.digest) {
          throw new Error("the corrupt blob was not repaired");
        }
      },
    },
    {
      name:
        "import --verify-existing refuses to name an image whose stored layer is corrupt and not in the input",
      // The input is the image without its layer file.
      files: async () =>
        one(
          await tarOfFiles(
            layoutFiles([{ descriptor: base.manifest.descriptor, refName: "example.com/h:2" }], [
              base.manifest,
              base.config,
            ]),
          ),
        ),
      prepareStore: async (s) => {
        const r = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--quiet",
            new URL("../../cli.ts", import.meta.url).pathname,
            "import",
            "-q",
            "--store",
            s,
            "-",
          ],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn();
        const w = r.stdin.getWriter();
        await w.write(good);
        await w.close();
        if (!(await r.status).success) throw new Error("seeding the image failed");
        await flipStoredBlob(s, base.layers[0].descriptor.digest);
      },
      args: ["import", "--verify-existing", "$W/input"],
      message: /corrupt/,
    },
    // never follow a symlink inside the store
    ...(["blobs/sha256", "ingest", "leases"] as const).flatMap((sub) =>
      (sub === "blobs/sha256" ? ["import", "gc"] : ["import"]).map((cmd): HostileCase => ({
        name: `${cmd} refuses a store whose ${sub} is a symlink (nothing outside changes)`,
        files: () => one(good),
        prepareStore: async (s) => {
          const outside = `${s}/../outside`;
          await Deno.mkdir(outside);
          await Deno.writeFile(`${outside}/${"ab".repeat(32)}`, enc.encode("not a blob"));
          if (sub === "blobs/sha256") {
            for await (const e of Deno.readDir(`${s}/${sub}`)) {
              await Deno.rename(`${s}/${sub}/${e.name}`, `${outside}/${e.name}`);
            }
          }
          await Deno.remove(`${s}/${sub}`, { recursive: true });
          await Deno.symlink(outside, `${s}/${sub}`);
        },
        args: cmd === "gc" ? ["gc"] : ["import", "$W/input"],
        message: /symbolic link/,
      }))
    ),
    ...await gzipTrailerCases(base, good),
  ];
  return cases;
}

export type { Descriptor };
