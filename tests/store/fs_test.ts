import { digestBytes } from "../../src/digest.ts";
import {
  DigestMismatchError,
  InvalidInputError,
  LimitExceededError,
  NotFoundError,
  QuotaExceededError,
} from "../../src/errors.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { readBlobBytes, writeBlob } from "../../src/store/blob.ts";
import { FsStore, openFsStore } from "../../src/store/fs.ts";
import { CONTAINERD_NAME, OCI_REF_NAME } from "../../src/media_types.ts";
import type { Descriptor } from "../../src/types.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { patternBytes, storeConformance } from "./suite.ts";

storeConformance("FsStore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lading-fs-" });
  return { store: await openFsStore(dir), cleanup: () => Deno.remove(dir, { recursive: true }) };
});

const HERE = new URL(".", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

function descriptor(n: number, extra: Partial<Descriptor> = {}): Descriptor {
  return {
    mediaType: MANIFEST,
    digest: `sha256:${n.toString(16).padStart(64, "0")}`,
    size: n,
    ...extra,
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lading-fs-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(path));
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

function child(script: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${HERE}${script}`, ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads a child's stdout until a line equal to `line` arrives; returns the rest reader. */
async function waitForLine(
  process: Deno.ChildProcess,
  line: string,
): Promise<ReadableStreamDefaultReader<string>> {
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.split("\n").includes(line)) {
    const { value, done } = await reader.read();
    if (done) {
      const err = await new Response(process.stderr).text();
      throw new Error(`child ended before printing ${line}: ${text}\n${err}`);
    }
    text += value;
  }
  return reader;
}

/** The pid of a process that has exited (so certainly not alive). */
async function deadPid(): Promise<number> {
  const p = new Deno.Command("true").spawn();
  await p.status;
  return p.pid;
}

async function startTimeOf(pid: number | "self"): Promise<string> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

// ----- the layout on disk -----

Deno.test("openFsStore() creates an OCI layout: oci-layout, index.json, blobs/", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(`${dir}/store`);
    assertEquals(
      await Deno.readTextFile(`${dir}/store/oci-layout`),
      '{"imageLayoutVersion":"1.0.0"}',
    );
    assertEquals(await readJson(`${dir}/store/index.json`), {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
    });
    assert((await Deno.stat(`${dir}/store/blobs/sha256`)).isDirectory);
    await store.close();
  });
});

Deno.test("index.json has one descriptor per name with both name annotations", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const target = descriptor(1, {
      platform: { architecture: "amd64", os: "linux" },
      annotations: { "org.example": "x" },
    });
    await store.putImages([
      { name: "docker.io/library/busybox:latest", target },
      { name: "example.com/two:1", target: descriptor(2) },
    ]);
    const index = await readJson(`${dir}/index.json`);
    assertEquals(index, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        {
          ...target,
          annotations: {
            "org.example": "x",
            [OCI_REF_NAME]: "docker.io/library/busybox:latest",
            [CONTAINERD_NAME]: "docker.io/library/busybox:latest",
          },
        },
        {
          ...descriptor(2),
          annotations: {
            [OCI_REF_NAME]: "example.com/two:1",
            [CONTAINERD_NAME]: "example.com/two:1",
          },
        },
      ],
    });
    // The record comes back without the name annotations.
    assertEquals((await store.getImage("docker.io/library/busybox:latest")).target, target);
    // No temporary index files are left behind.
    assertEquals((await names(dir)).filter((n) => n.startsWith("index.json")), ["index.json"]);
  });
});

Deno.test("naming an image again as it is leaves index.json untouched (a re-pull writes nothing)", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const record = { name: "example.com/app:1", target: descriptor(1) };
    await store.putImages([record]);
    const before = await Deno.stat(`${dir}/index.json`);
    await store.putImages([record]);
    assertEquals((await Deno.stat(`${dir}/index.json`)).ino, before.ino);
    await store.putImages([{ ...record, target: descriptor(2) }]);
    assert((await Deno.stat(`${dir}/index.json`)).ino !== before.ino, "a change is written");
    assertEquals((await store.getImage("example.com/app:1")).target, descriptor(2));
    await store.close();
  });
});

Deno.test("committed blobs are blobs/<alg>/<hex>, mode 0444; ingest/ is empty afterwards", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const bytes = patternBytes(5000);
    const rt = await getRuntime();
    for (const alg of ["sha256", "sha512"] as const) {
      const digest = await digestBytes(rt, bytes, { algorithm: alg });
      await writeBlob(store, bytes, { digest, size: 5000 });
      const path = `${dir}/blobs/${alg}/${digest.slice(alg.length + 1)}`;
      const stat = await Deno.stat(path);
      assertEquals(stat.size, 5000);
      assertEquals(stat.mode! & 0o777, 0o444);
      assertEquals(stat.nlink, 1, "the ingest link is gone");
      assertEquals(await Deno.readFile(path), bytes);
    }
    assertEquals(await names(`${dir}/ingest`), []);
    // delete() removes read-only files.
    await store.delete(await digestBytes(rt, bytes));
    assertEquals(await names(`${dir}/blobs/sha256`), []);
  });
});

Deno.test("an ingest file exists while writing and is gone after a failed commit", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const writer = await store.writer();
    await writer.write(new Uint8Array(10));
    assertEquals((await names(`${dir}/ingest`)).length, 1);
    assertEquals(await Array.fromAsync(store.list()), []);
    const e = await assertRejects(
      () => writer.commit({ digest: `sha256:${"ab12".repeat(16)}`, size: 9 }),
      Error,
      "Cannot commit blob sha256:ab12",
    );
    assertStringIncludes(e.message, "has 10 bytes, descriptor says 9");
    assertEquals(await names(`${dir}/ingest`), []);
    assertEquals(await names(`${dir}/blobs/sha256`), []);
  });
});

Deno.test("list(), has(), info() and reader() ignore non-digest names, directories and symlinks in blobs/", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const bytes = new TextEncoder().encode("real");
    const digest = await digestBytes(await getRuntime(), bytes);
    await writeBlob(store, bytes, { digest, size: 4 });
    await Deno.mkdir(`${dir}/blobs/md5`);
    await Deno.writeTextFile(`${dir}/blobs/md5/d41d8cd98f00b204e9800998ecf8427e`, "x");
    await Deno.writeTextFile(`${dir}/blobs/sha256/not-a-digest`, "x");
    await Deno.writeTextFile(`${dir}/blobs/sha256/${"A".repeat(64)}`, "x");
    await Deno.writeTextFile(`${dir}/blobs/sha256/${"a".repeat(63)}`, "x");
    await Deno.mkdir(`${dir}/blobs/sha256/${"b".repeat(64)}`);
    await Deno.writeTextFile(`${dir}/secret`, "not a blob");
    await Deno.symlink(`${dir}/secret`, `${dir}/blobs/sha256/${"c".repeat(64)}`);
    assertEquals(await Array.fromAsync(store.list()), [{ digest, size: 4 }]);
    for (const hex of ["b", "c"]) {
      const d = `sha256:${hex.repeat(64)}` as const;
      assertEquals(await store.has(d), false);
      await assertRejects(() => store.info(d), NotFoundError);
      await assertRejects(() => store.reader(d), NotFoundError);
      await assertRejects(() => store.openBlob(d), NotFoundError);
      await assertRejects(() => store.readSmall(d, 100), NotFoundError);
    }
  });
});

Deno.test("readSmall() reads a blob whole, refuses one over the limit, and sees a file that grew", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const bytes = patternBytes(70_000);
    const digest = await digestBytes(await getRuntime(), bytes);
    await writeBlob(store, bytes, { digest, size: bytes.byteLength });
    assertEquals(await store.readSmall(digest, 70_000), bytes);
    assertEquals(await readBlobBytes(store, digest), bytes);
    await assertRejects(() => store.readSmall(digest, 69_999), LimitExceededError, "69999");
    const path = `${dir}/blobs/sha256/${digest.slice(7)}`;
    await Deno.chmod(path, 0o644);
    await Deno.writeFile(path, new Uint8Array(5), { append: true });
    assertEquals((await store.readSmall(digest, 1 << 20)).byteLength, 70_005);
    await assertRejects(() => store.readSmall(digest, 70_004), LimitExceededError);
    const empty = await digestBytes(await getRuntime(), new Uint8Array(0));
    await writeBlob(store, new Uint8Array(0), { digest: empty, size: 0 });
    assertEquals(await store.readSmall(empty, 10), new Uint8Array(0));
  });
});

Deno.test("reader() refuses a negative or fractional offset with TypeError", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const bytes = new TextEncoder().encode("{}");
    const digest = await digestBytes(await getRuntime(), bytes);
    await writeBlob(store, bytes, { digest, size: 2 });
    await assertRejects(() => store.reader(digest, { offset: -1 }), TypeError);
    await assertRejects(() => store.reader(digest, { offset: 0.5 }), TypeError);
  });
});

// ----- index.json written by other tools -----

Deno.test("foreign index.json entries are read by either annotation and kept on rewrite", async () => {
  await withDir(async (dir) => {
    const nameless = {
      ...descriptor(9),
      platform: { architecture: "arm64", os: "linux" },
    };
    const refOnly = { ...descriptor(1), annotations: { [OCI_REF_NAME]: "v1" } };
    const containerdOnly = {
      ...descriptor(2),
      annotations: { [CONTAINERD_NAME]: "docker.io/library/c:2", "x": "y" },
    };
    const both = {
      ...descriptor(3),
      annotations: {
        [OCI_REF_NAME]: "3",
        [CONTAINERD_NAME]: "docker.io/library/both:3",
      },
    };
    await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await Deno.writeTextFile(
      `${dir}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        annotations: { "org.example.index": "kept" },
        manifests: [nameless, refOnly, containerdOnly, both],
      }),
    );
    await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
    const store = await openFsStore(dir, { create: false });
    assertEquals(await store.listImages(), [
      { name: "docker.io/library/both:3", target: descriptor(3) },
      { name: "docker.io/library/c:2", target: { ...descriptor(2), annotations: { "x": "y" } } },
      { name: "v1", target: descriptor(1) },
    ]);
    await assertRejects(() => store.getImage("3"), NotFoundError); // containerd name wins

    await store.putImages([{ name: "example.com/new:1", target: descriptor(4) }]);
    await store.deleteImages(["v1"]);
    const index = await readJson(`${dir}/index.json`);
    assertEquals(index.annotations, { "org.example.index": "kept" });
    assertEquals(index.mediaType, "application/vnd.oci.image.index.v1+json");
    const manifests = index.manifests as Record<string, unknown>[];
    assertEquals(manifests.length, 4);
    assertEquals(manifests[0], nameless);
    assertEquals(manifests[1], containerdOnly);
    assertEquals(manifests[2], both);
    assertEquals(
      (manifests[3].annotations as Record<string, string>)[CONTAINERD_NAME],
      "example.com/new:1",
    );
    // Replacing a name given only by ref.name replaces that entry in place.
    await store.putImages([{ name: "docker.io/library/c:2", target: descriptor(5) }]);
    const again = (await readJson(`${dir}/index.json`)).manifests as Record<string, unknown>[];
    assertEquals(again.length, 4);
    assertEquals(again[1].digest, descriptor(5).digest);
  });
});

Deno.test("a malformed index.json is an InvalidInputError naming the problem", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    await Deno.writeTextFile(`${dir}/index.json`, "{not json");
    await assertRejects(() => store.listImages(), InvalidInputError, "index.json");
    await Deno.writeTextFile(`${dir}/index.json`, '{"schemaVersion":2}');
    await assertRejects(() => store.listImages(), InvalidInputError, "manifests");
    await Deno.writeTextFile(
      `${dir}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{
          mediaType: MANIFEST,
          digest: "sha256:../../etc/passwd",
          size: 1,
          annotations: { [OCI_REF_NAME]: "x" },
        }],
      }),
    );
    await assertRejects(() => store.getImage("x"), InvalidInputError, "digest");
  });
});

Deno.test("putImages() validates records: bad names and descriptors are refused", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    await assertRejects(() => store.putImages([{ name: "", target: descriptor(1) }]), TypeError);
    await assertRejects(
      () =>
        store.putImages([{
          name: "x",
          target: { ...descriptor(1), digest: "sha256:../../x" as `sha256:${string}` },
        }]),
      InvalidInputError,
    );
    await assertRejects(
      () => store.putImages([{ name: "x", target: { ...descriptor(1), size: -1 } }]),
      TypeError,
    );
    assertEquals(await store.listImages(), []);
  });
});

// ----- opening -----

Deno.test("openFsStore() opens a layout made by another tool (no ingest/, no lock)", async () => {
  await withDir(async (dir) => {
    const bytes = new TextEncoder().encode("{}");
    const digest = await digestBytes(await getRuntime(), bytes);
    await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
    await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
    await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await Deno.writeTextFile(
      `${dir}/index.json`,
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...descriptor(1), annotations: { [OCI_REF_NAME]: "latest" } }],
      }),
    );
    const store = await openFsStore(dir);
    assertEquals(await names(dir), ["blobs", "index.json", "oci-layout"]);
    assertEquals(await store.info(digest), { digest, size: 2 });
    assertEquals((await store.getImage("latest")).target, descriptor(1));
    assertEquals((await writeBlob(store, bytes, { digest, size: 2 })).added, false);
    await store.putImages([{ name: "example.com/x:1", target: descriptor(2) }]);
    assertEquals((await store.listImages()).length, 2);
  });
});

Deno.test("openFsStore() refuses a non-empty directory that is not a layout unless create: true", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
    await assertRejects(() => openFsStore(dir), InvalidInputError, "not an OCI image layout");
    await assertRejects(() => openFsStore(dir, { create: false }), InvalidInputError);
    assertEquals(await names(dir), ["notes.txt"]);
    const store = await openFsStore(dir, { create: true });
    assertEquals(await names(dir), ["blobs", "index.json", "notes.txt", "oci-layout"]);
    assertEquals(await store.listImages(), []);
  });
});

Deno.test("openFsStore() with create: false refuses a missing or empty directory", async () => {
  await withDir(async (dir) => {
    await assertRejects(() => openFsStore(`${dir}/missing`, { create: false }), NotFoundError);
    await Deno.mkdir(`${dir}/empty`);
    await assertRejects(() => openFsStore(`${dir}/empty`, { create: false }), InvalidInputError);
    assertEquals(await names(`${dir}/empty`), []);
    await openFsStore(`${dir}/empty`); // the default creates it
    assert(await Deno.stat(`${dir}/empty/oci-layout`));
  });
});

Deno.test("openFsStore() refuses a file, and a malformed oci-layout", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await assertRejects(() => openFsStore(`${dir}/file`), InvalidInputError, "not a directory");
    await Deno.mkdir(`${dir}/bad`);
    await Deno.writeTextFile(`${dir}/bad/oci-layout`, "[]");
    await assertRejects(() => openFsStore(`${dir}/bad`), InvalidInputError, "imageLayoutVersion");
  });
});

Deno.test("openFsStore() removes stale ingest files of dead processes and keeps live ones", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    // A live writer in another process.
    const live = child("_slow_writer.ts", [dir, String(1 << 20), "65536", "10000"]);
    try {
      await waitForLine(live, "started");
      const liveFiles = await names(`${dir}/ingest`);
      assertEquals(liveFiles.length, 1);
      // A live writer in this process.
      const ownWriter = await store.writer();
      await ownWriter.write(new Uint8Array(3));
      const ownFile = (await names(`${dir}/ingest`)).find((n) => !liveFiles.includes(n))!;
      // Stale files: a dead pid, and this pid with another start time (pid reuse).
      const dead = `${await deadPid()}.${await startTimeOf("self")}-00112233`;
      const reused = `${Deno.pid}.1-44556677`;
      const foreign = "not-ours";
      for (const n of [dead, reused, foreign]) {
        await Deno.writeTextFile(`${dir}/ingest/${n}`, "partial");
      }
      await Deno.writeTextFile(`${dir}/index.json.tmp-${dead}`, "{");
      await openFsStore(dir);
      assertEquals(
        await names(`${dir}/ingest`),
        [...liveFiles, ownFile, foreign].sort(),
      );
      assertEquals((await names(dir)).filter((n) => n.startsWith("index.json")), ["index.json"]);
      await ownWriter.abort();
    } finally {
      live.kill("SIGKILL");
      await live.status;
      await live.stdout.cancel().catch(() => {});
      await live.stderr.cancel();
    }
    // Once the other process is dead, its ingest file goes too.
    await openFsStore(dir);
    assertEquals(await names(`${dir}/ingest`), ["not-ours"]);
  });
});

Deno.test("leases of dead processes are ignored and removed; lease.add() validates digests", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const lease = await store.lease();
    await lease.add([descriptor(1).digest]);
    const dead = `${await deadPid()}.${await startTimeOf("self")}-8899aabb`;
    await Deno.writeTextFile(`${dir}/leases/${dead}`, `${descriptor(2).digest}\n`);
    assertEquals(await store.leasedDigests(), new Set([descriptor(1).digest]));
    assertEquals(await names(`${dir}/leases`), [lease.id]);
    await assertRejects(
      () => lease.add(["sha256:../../x" as `sha256:${string}`]),
      InvalidInputError,
    );
    await lease.release();
    assertEquals(await names(`${dir}/leases`), []);
    await assertRejects(() => lease.add([descriptor(3).digest]), TypeError);
  });
});

// ----- concurrency -----

Deno.test("two FsStore instances in one process exclude each other", async () => {
  await withDir(async (dir) => {
    const a = await openFsStore(dir);
    const b = await openFsStore(`${dir}/`); // same directory, different spelling
    let inside = false;
    let overlapped = false;
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const held = a.exclusive(async () => {
      inside = true;
      await gate;
      inside = false;
    });
    await new Promise((r) => setTimeout(r, 10));
    const put = b.exclusive(() => {
      overlapped = inside;
      return Promise.resolve();
    });
    await new Promise((r) => setTimeout(r, 50));
    finish();
    await Promise.all([held, put]);
    assertEquals(overlapped, false);

    await Promise.all(
      Array.from({ length: 50 }, (_, i) => [
        a.putImages([{ name: `example.com/a:${i}`, target: descriptor(i) }]),
        b.putImages([{ name: `example.com/b:${i}`, target: descriptor(i) }]),
      ]).flat(),
    );
    assertEquals((await a.listImages()).length, 100);
  });
});

Deno.test("two deno processes doing putImages() 50 times concurrently lose no update", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const children = ["p1", "p2"].map((p) => child("_concurrent_put.ts", [dir, p, "50"]));
    const own = (async () => {
      for (let i = 0; i < 50; i++) {
        await store.putImages([{ name: `example.com/self:${i}`, target: descriptor(i) }]);
      }
    })();
    const outputs = await Promise.all(children.map((c) => c.output()));
    await own;
    for (const out of outputs) {
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const all = (await store.listImages()).map((r) => r.name);
    assertEquals(all.length, 150);
    for (const p of ["p1", "p2", "self"]) {
      for (let i = 0; i < 50; i++) assert(all.includes(`example.com/${p}:${i}`), `${p}:${i}`);
    }
  });
});

Deno.test("a lock held by another process makes putImages() wait", async () => {
  await withDir(async (dir) => {
    const store = await openFsStore(dir);
    const holder = child("_hold_lock.ts", [dir, "300"]);
    const reader = await waitForLine(holder, "locked");
    const started = performance.now();
    await store.putImages([{ name: "example.com/waited:1", target: descriptor(1) }]);
    const waited = performance.now() - started;
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
    assertStringIncludes(rest, "unlocked");
    assertEquals((await holder.status).code, 0);
    await holder.stderr.cancel();
    assert(waited > 150, `putImages() returned after ${waited} ms while the lock was held`);
  });
});

Deno.test("a writer SIGKILLed mid-blob leaves no partial blob; the blob can be written later", async () => {
  await withDir(async (dir) => {
    await openFsStore(dir);
    const size = 16 * 1024 * 1024;
    const writer = child("_slow_writer.ts", [dir, String(size), String(1 << 20), "50"]);
    await waitForLine(writer, "started");
    await new Promise((r) => setTimeout(r, 120));
    writer.kill("SIGKILL");
    const status = await writer.status;
    await writer.stdout.cancel().catch(() => {});
    await writer.stderr.cancel();
    assertEquals(status.signal, "SIGKILL");
    const partial = await names(`${dir}/ingest`);
    assertEquals(partial.length, 1, "the killed writer left its ingest file");
    const partialSize = (await Deno.stat(`${dir}/ingest/${partial[0]}`)).size;
    assert(partialSize > 0 && partialSize < size, `partial file has ${partialSize} bytes`);

    const store = await openFsStore(dir);
    assertEquals(await names(`${dir}/ingest`), []);
    assertEquals(await Array.fromAsync(store.list()), []);
    const bytes = patternBytes(size, 42);
    const digest = await digestBytes(await getRuntime(), bytes);
    assertEquals(await store.has(digest), false);
    assertEquals((await writeBlob(store, bytes, { digest, size })).added, true);
    assertEquals(await store.info(digest), { digest, size });
  });
});

// ----- disk full -----

async function canMountTmpfs(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  try {
    const out = await new Deno.Command("unshare", {
      args: ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a full disk during a write is a QuotaExceededError and leaves no ingest file",
  ignore: !(await canMountTmpfs()),
  fn: async () => {
    await withDir(async (dir) => {
      const out = await new Deno.Command("unshare", {
        args: [
          "-rm",
          "sh",
          "-c",
          'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" run -A "$3" "$1" 3000000',
          "sh",
          dir,
          Deno.execPath(),
          `${HERE}_enospc.ts`,
        ],
        cwd: REPO,
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
      const result = JSON.parse(new TextDecoder().decode(out.stdout));
      assertEquals(result.error, QuotaExceededError.name);
      assertStringIncludes(result.message, "no space left");
      assertEquals(result.ingest, []);
      assertEquals(result.blobs, []);
    });
  },
});

Deno.test("FsStore is exported for type checks and instanceof", async () => {
  await withDir(async (dir) => {
    assert((await openFsStore(dir)) instanceof FsStore);
  });
});

Deno.test("a small write whose size is announced is hashed from its file at commit: right bytes commit (sha256 and sha512), wrong ones are refused, and an announced size that lies changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lading-fs-small-" });
  try {
    const store = await openFsStore(dir);
    const runtime = await getRuntime();
    const bytes = patternBytes(100_000, 4);
    for (const algorithm of ["sha256", "sha512"] as const) {
      const digest = await digestBytes(runtime, bytes, { algorithm });
      const w = await store.writer({ size: bytes.byteLength });
      await w.write(bytes.subarray(0, 60_000));
      await w.write(bytes.subarray(60_000));
      assertEquals(await w.commit({ digest, size: bytes.byteLength }), { added: true });
      assertEquals(await Deno.readFile(store.blobFile(digest)), bytes);
    }
    const other = patternBytes(100_000, 5);
    const otherDigest = await digestBytes(runtime, other);
    const wrong = await store.writer({ size: other.byteLength });
    await wrong.write(other.map((b, i) => (i === 7 ? b ^ 1 : b)));
    await assertRejects(
      () => wrong.commit({ digest: otherDigest, size: other.byteLength }),
      DigestMismatchError,
    );
    assertEquals(await store.has(otherDigest), false);
    // Announced as 10 bytes, 2 MiB written: still hashed right (streamed from the file).
    const big = patternBytes(2 * 1024 * 1024, 6);
    const lied = await store.writer({ size: 10 });
    await lied.write(big);
    const digest = await digestBytes(runtime, big);
    assertEquals(await lied.sha256!(), digest);
    assertEquals(await lied.commit({ digest, size: big.byteLength }), { added: true });
    assertEquals(await Array.fromAsync(Deno.readDir(`${dir}/ingest`)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
