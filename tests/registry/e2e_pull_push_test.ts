/**
 * `lading push` and `lading pull` against the real distribution registry: round trips
 * with equal digests and exact bytes, nothing transferred twice, references named as ctr
 * names them, the Accept header, schema 1 refused, and the failures users meet first.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import { blobsOf, jsonBlob, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import {
  imagesOf,
  importBuilt,
  importImage,
  oneClearLine,
  type PullJson,
  type PushJson,
  sampleImage,
  storeBlob,
  visibleState,
  world,
} from "./_cli.ts";
import {
  blobBytes,
  getManifest,
  haveRegistry,
  MANIFEST_ACCEPT,
  pushBuiltImage,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";
import { runProbed } from "../cli/_startup_probe.ts";

Deno.test("push then pull: the registry holds the exact bytes and the pull has the same digests", async () => {
  if (!(await haveRegistry("push then pull"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const a = await world(dir, "a");
    const image = await sampleImage();
    await importImage(a, "example.com/demo/app:v1", image);

    const pushed = await a.json<PushJson>([
      "push",
      "--plain-http",
      `${reg.host}/demo/app:v1`,
      "example.com/demo/app:v1",
    ]);
    // The --json shapes exactly as issue #10 writes them.
    assertEquals(Object.keys(pushed), ["ref", "digest", "blobs"]);
    assertEquals(Object.keys(pushed.blobs), ["uploaded", "mounted", "present", "bytes"]);
    assertEquals(pushed.ref, `${reg.host}/demo/app:v1`);
    assertEquals(pushed.digest, image.manifest.descriptor.digest);
    // Counted like a pull's blobs: the manifest, the config and two layers.
    assertEquals(pushed.blobs.uploaded, 4, "manifest, config and two layers uploaded");
    assertEquals(pushed.blobs.present + pushed.blobs.mounted, 0);
    assertEquals(
      pushed.blobs.bytes,
      blobsOf(image).reduce((n, b) => n + b.descriptor.size, 0),
    );
    const m = await getManifest(reg, "demo/app", "v1");
    assertEquals(m.bytes, image.manifest.bytes, "the manifest is pushed byte for byte");
    assertEquals(m.digest, image.manifest.descriptor.digest);
    for (const b of [image.config, ...image.layers]) {
      assertEquals(await blobBytes(reg, "demo/app", b.descriptor.digest), b.bytes);
    }

    const b = a.other("b");
    const pulled = await b.json<PullJson>(["pull", "--plain-http", `${reg.host}/demo/app:v1`]);
    assertEquals(Object.keys(pulled), [
      "name",
      "digest",
      "mediaType",
      "size",
      "platforms",
      "blobs",
    ]);
    assertEquals(Object.keys(pulled.blobs), ["added", "present", "bytes", "resumed"]);
    assertEquals(pulled.name, `${reg.host}/demo/app:v1`);
    assertEquals(pulled.digest, image.manifest.descriptor.digest);
    assertEquals(pulled.mediaType, image.manifest.descriptor.mediaType);
    assertEquals(pulled.size, image.manifest.descriptor.size);
    assertEquals(pulled.platforms, ["linux/amd64"]);
    assertEquals(pulled.blobs.added, 4, "manifest, config and two layers");
    assertEquals(pulled.blobs.present, 0);
    assertEquals((await imagesOf(b)).get(`${reg.host}/demo/app:v1`), pulled.digest);
    for (const blob of blobsOf(image)) {
      assertEquals(await storeBlob(b, blob.descriptor.digest), blob.bytes);
    }
    await b.run(["images", "check", `${reg.host}/demo/app:v1`]);
  });
});

Deno.test("push defaults the local name to the remote reference", async () => {
  if (!(await haveRegistry("push default local name"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const w = await world(dir);
    const image = await sampleImage([1000]);
    await importImage(w, `${reg.host}/same/name:1`, image);
    await w.run(["push", "--plain-http", "-q", `${reg.host}/same/name:1`]);
    assertEquals((await getManifest(reg, "same/name", "1")).bytes, image.manifest.bytes);
  });
});

Deno.test("re-pull of an image already present transfers no blob; a second push uploads nothing", async () => {
  if (!(await haveRegistry("re-pull and re-push"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const w = await world(dir);
    const image = await sampleImage();
    await importImage(w, "example.com/app:1", image);
    await w.run(["push", "--plain-http", "-q", `${proxy.host}/app:1`, "example.com/app:1"]);
    assert(proxy.count({ kind: "upload", method: "POST" }) >= 3, "the first push uploads");

    proxy.reset();
    // Run under the start-up probe: a command that sends a few HEADs loads none of Node's
    // compatibility layer (tens of milliseconds in Deno; see tests/cli/startup_test.ts).
    const pushedAgain = await runProbed(
      ["push", "--plain-http", "--json", `${proxy.host}/app:1`, "example.com/app:1"],
      { env: { ...w.env, LADING_STORE: w.store } },
    );
    assertEquals(pushedAgain.code, 0, pushedAgain.stderr);
    assertEquals(pushedAgain.touched, [], "the second push touched Node globals");
    const again = JSON.parse(pushedAgain.stdout) as PushJson;
    assertEquals(again.blobs.uploaded, 0);
    assertEquals(again.blobs.present, 4);
    assertEquals(again.blobs.bytes, 0);
    assertEquals(proxy.count({ kind: "upload" }), 0, "no upload session is even started");
    // The tag already names the image: only HEADs (the blobs, and the tag), no manifest PUT.
    assertEquals(
      proxy.seen.filter((r) => r.method !== "HEAD").map((r) => `${r.method} ${r.path}`),
      [],
    );
    assert(
      proxy.seen.some((r) => r.method === "HEAD" && r.path === "/v2/app/manifests/1"),
      "the tag is looked up",
    );

    const puller = w.other("puller");
    await puller.run(["pull", "--plain-http", "-q", `${proxy.host}/app:1`]);
    const names = await Deno.stat(`${puller.store}/index.json`);
    proxy.reset();
    const pulledAgain = await runProbed(
      ["pull", "--plain-http", "--json", `${proxy.host}/app:1`],
      { env: { ...puller.env, LADING_STORE: puller.store } },
    );
    assertEquals(pulledAgain.code, 0, pulledAgain.stderr);
    assertEquals(pulledAgain.touched, [], "the re-pull touched Node globals");
    const second = JSON.parse(pulledAgain.stdout) as PullJson;
    assertEquals(second.blobs.added, 0);
    assertEquals(second.blobs.bytes, 0);
    assertEquals(proxy.count({ kind: "blob", method: "GET" }), 0, "no blob is downloaded again");
    // The whole re-pull is one request (the manifest by its tag) and writes no name.
    assertEquals(
      proxy.seen.map((s) => `${s.method} ${s.path}`),
      ["GET /v2/app/manifests/1"],
    );
    assertEquals((await Deno.stat(`${puller.store}/index.json`)).ino, names.ino);
  });
});

Deno.test("every manifest request sends an Accept with OCI index, OCI manifest, Docker list and Docker schema 2", async () => {
  if (!(await haveRegistry("accept header"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const image = await sampleImage([1000], { docker: true });
    // Without the right Accept, distribution 2.8 turns this into a signed schema 1 manifest
    // with another digest.
    const digest = await pushBuiltImage(reg, "docker/img", "latest", image);
    const w = await world(dir);
    const pulled = await w.json<PullJson>(["pull", "--plain-http", `${proxy.host}/docker/img`]);
    assertEquals(pulled.name, `${proxy.host}/docker/img:latest`, "no tag means :latest");
    assertEquals(pulled.digest, digest);
    assertEquals(pulled.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    const manifestGets = proxy.seen.filter((s) => s.kind === "manifest");
    assert(manifestGets.length > 0);
    for (const s of manifestGets) {
      for (const t of MANIFEST_ACCEPT.split(", ")) {
        assert(s.accept?.includes(t), `${s.method} ${s.path} Accept lacks ${t}: ${s.accept}`);
      }
    }
  });
});

Deno.test("a digest reference is named by its digest, and bytes that do not hash to it are refused", async () => {
  if (!(await haveRegistry("digest reference"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const image = await sampleImage([2000]);
    const digest = await pushBuiltImage(reg, "by/digest", "t", image);
    const w = await world(dir);
    const pulled = await w.json<PullJson>([
      "pull",
      "--plain-http",
      `${reg.host}/by/digest@${digest}`,
    ]);
    assertEquals(pulled.name, `${reg.host}/by/digest@${digest}`);
    assertEquals(pulled.digest, digest);

    const other = w.other("other");
    const impostor = await jsonBlob(
      { ...JSON.parse(new TextDecoder().decode(image.manifest.bytes)), annotations: { x: "y" } },
      image.manifest.descriptor.mediaType,
    );
    proxy.add({
      kind: "manifest",
      action: {
        respond: {
          status: 200,
          headers: {
            "content-type": impostor.descriptor.mediaType,
            "docker-content-digest": digest,
          },
          body: impostor.bytes,
        },
      },
    });
    const before = await visibleState(other.store);
    const r = await other.run(["pull", "--plain-http", `${proxy.host}/by/digest@${digest}`], {
      code: 1,
    });
    oneClearLine(r, digest.slice(0, 19));
    assertEquals(await visibleState(other.store), before, "nothing is stored or named");
  });
});

Deno.test("a tag's Docker-Content-Digest that disagrees with the body is a warning; the body's digest wins", async () => {
  if (!(await haveRegistry("digest header mismatch"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const image = await sampleImage([2000]);
    await pushBuiltImage(reg, "hdr", "1", image);
    proxy.add({
      kind: "manifest",
      action: { setHeaders: { "docker-content-digest": `sha256:${"0".repeat(64)}` } },
    });
    const w = await world(dir);
    const r = await w.run(["pull", "--plain-http", `${proxy.host}/hdr:1`]);
    assert(
      /^warning: .*Docker-Content-Digest/im.test(r.stderr),
      `a warning is printed: ${r.stderr}`,
    );
    assertEquals((await imagesOf(w)).get(`${proxy.host}/hdr:1`), image.manifest.descriptor.digest);
    // With --json the warning is part of the result.
    const j = await w.other("j").json<PullJson & { warnings?: string[] }>([
      "pull",
      "--plain-http",
      `${proxy.host}/hdr:1`,
    ]);
    assertEquals(j.digest, image.manifest.descriptor.digest);
    assert(j.warnings?.some((m) => m.includes("Docker-Content-Digest")), JSON.stringify(j));
  });
});

Deno.test("schema 1 manifests are refused with a clear message", async () => {
  if (!(await haveRegistry("schema 1"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const schema1 = JSON.stringify({
      schemaVersion: 1,
      name: "old/img",
      tag: "latest",
      architecture: "amd64",
      fsLayers: [{ blobSum: `sha256:${"a".repeat(64)}` }],
      history: [{ v1Compatibility: "{}" }],
      signatures: [],
    });
    proxy.add({
      kind: "manifest",
      action: {
        respond: {
          status: 200,
          headers: { "content-type": "application/vnd.docker.distribution.manifest.v1+prettyjws" },
          body: schema1,
        },
      },
    });
    const w = await world(dir);
    const before = await visibleState(w.store);
    const r = await w.run(["pull", "--plain-http", `${proxy.host}/old/img:latest`], { code: 1 });
    oneClearLine(r, "schema 1");
    assertEquals(proxy.count({ kind: "blob" }), 0, "no blob of a refused manifest is fetched");
    assertEquals(await visibleState(w.store), before);
  });
});

Deno.test("a manifest over 4 MiB is refused", async () => {
  if (!(await haveRegistry("manifest size cap"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const huge = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: `sha256:${"b".repeat(64)}`,
        size: 2,
      },
      layers: [],
      annotations: { pad: "x".repeat(5 * 1024 * 1024) },
    });
    proxy.add({
      kind: "manifest",
      action: {
        respond: {
          status: 200,
          headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
          body: huge,
        },
      },
    });
    const w = await world(dir);
    const r = await w.run(["pull", "--plain-http", `${proxy.host}/big/manifest:1`], { code: 1 });
    oneClearLine(r);
    assert(/MiB|too (large|big)|size|limit/i.test(r.stderr), `says it is too large: ${r.stderr}`);
  });
});

Deno.test("pulling a tag that does not exist fails with one line and names nothing", async () => {
  if (!(await haveRegistry("not found"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const w = await world(dir);
    const before = await visibleState(w.store);
    const r = await w.run(["pull", "--plain-http", `${reg.host}/nothing/here:1`], { code: 1 });
    oneClearLine(r, "not found");
    assertEquals(await visibleState(w.store), before);
  });
});

Deno.test("push refuses an image with missing content before sending anything, listing what is missing", async () => {
  if (!(await haveRegistry("push missing content"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const w = await world(dir);
    const image = await sampleImage([1000, 2000]);
    const missing = image.layers[1].descriptor.digest;
    await w.run(["import", "--allow-missing", "-"], {
      stdin: await tarOfFiles(layoutFiles(
        [{ descriptor: image.manifest.descriptor, refName: "example.com/partial:1" }],
        [image.manifest, image.config, image.layers[0]],
      )),
    });
    const r = await w.run([
      "push",
      "--plain-http",
      `${proxy.host}/partial:1`,
      "example.com/partial:1",
    ], {
      code: 1,
    });
    // A headline, then one indented line per missing blob.
    const [headline, ...list] = r.stderr.trimEnd().split("\n");
    assert(/missing/i.test(headline) && !headline.startsWith(" "), headline);
    assertEquals(list.length, 1, r.stderr);
    assert(list[0].startsWith("  ") && list[0].includes(missing), r.stderr);
    const writes = proxy.seen.filter((s) => s.method !== "GET" && s.method !== "HEAD");
    assertEquals(writes.length, 0, `nothing is sent: ${JSON.stringify(writes)}`);
  });
});

Deno.test("push of several images in one layout keeps each one's digest", async () => {
  if (!(await haveRegistry("push two images"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const w = await world(dir);
    const one = await sampleImage([1000], { label: "one" });
    const two = await sampleImage([1500], { label: "two" });
    await importBuilt(
      w,
      [{ name: "example.com/one:1", root: one.manifest }, {
        name: "example.com/two:1",
        root: two.manifest,
      }],
      [...blobsOf(one), ...blobsOf(two)],
    );
    await w.run(["push", "--plain-http", "-q", `${reg.host}/multi:one`, "example.com/one:1"]);
    await w.run(["push", "--plain-http", "-q", `${reg.host}/multi:two`, "example.com/two:1"]);
    assertEquals((await getManifest(reg, "multi", "one")).digest, one.manifest.descriptor.digest);
    assertEquals((await getManifest(reg, "multi", "two")).digest, two.manifest.descriptor.digest);
  });
});

Deno.test("usage errors exit 2", async () => {
  await withTempDir(async (dir) => {
    const w = await world(dir);
    await w.run(["pull"], { code: 2 });
    await w.run(["push"], { code: 2 });
    await w.run(["copy", "127.0.0.1:1/a:1"], { code: 2 });
    await w.run(["pull", "--no-such-flag", "127.0.0.1:1/a:1"], { code: 2 });
    await w.run(["remote", "tags"], { code: 2 });
  });
});
