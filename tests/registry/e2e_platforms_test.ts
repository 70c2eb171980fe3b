/**
 * Multi-platform images from the real registry: the host's platform by default,
 * `--platform` repeated, `--all-platforms`; the index is stored and named, platforms not
 * fetched show as missing in `images ls`, and only the chosen platforms' blobs move.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import { buildIndex, type BuiltImage } from "../helpers/images.ts";
import {
  imageEntry,
  oneClearLine,
  type PullJson,
  type PushJson,
  sampleImage,
  world,
} from "./_cli.ts";
import {
  getManifest,
  haveRegistry,
  pushBuiltIndex,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";

const HOST_ARCH =
  ({ x86_64: "amd64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch];

async function threePlatforms(docker = false) {
  const images = [
    await sampleImage([2000], {
      docker,
      platform: { os: "linux", architecture: "amd64" },
      label: "amd64",
    }),
    await sampleImage([2100], {
      docker,
      platform: { os: "linux", architecture: "arm64" },
      label: "arm64",
    }),
    await sampleImage([2200], {
      docker,
      platform: { os: "linux", architecture: "arm", variant: "v7" },
      label: "arm",
    }),
  ];
  return { images, index: await buildIndex(images, { docker }) };
}

function blobGetsOf(seen: { kind: string; method: string; path: string }[], image: BuiltImage) {
  const digests = [image.config, ...image.layers].map((b) => b.descriptor.digest);
  return seen.filter((s) =>
    s.kind === "blob" && s.method === "GET" && digests.some((d) => s.path.endsWith(d))
  )
    .length;
}

Deno.test("pull takes the host's platform by default, stores and names the index, shows the rest as missing", async () => {
  if (!(await haveRegistry("default platform"))) return;
  if (!HOST_ARCH) return console.log(`skipped: no test image for ${Deno.build.arch}`);
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const { images, index } = await threePlatforms();
    const digest = await pushBuiltIndex(reg, "multi", "1", images, index);
    assertEquals(digest, index.descriptor.digest);
    const w = await world(dir);
    const ref = `${proxy.host}/multi:1`;
    const pulled = await w.json<PullJson>(["pull", "--plain-http", ref]);
    assertEquals(pulled.digest, index.descriptor.digest);
    assertEquals(pulled.mediaType, "application/vnd.oci.image.index.v1+json");
    assertEquals(pulled.platforms, [`linux/${HOST_ARCH}`]);
    for (const image of images) {
      const want = image.platform.architecture === HOST_ARCH ? 2 : 0;
      assertEquals(blobGetsOf(proxy.seen, image), want, `${image.platform.architecture} blobs`);
    }
    const entry = await imageEntry(w, ref);
    assertEquals(entry?.digest, index.descriptor.digest);
    assertEquals(entry?.incomplete, true);
    assertEquals(entry?.missingPlatforms?.length, 2, JSON.stringify(entry));
  });
});

Deno.test("--platform repeated fetches exactly those platforms; --all-platforms fetches all", async () => {
  if (!(await haveRegistry("--platform"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const { images, index } = await threePlatforms(true);
    await pushBuiltIndex(reg, "list", "1", images, index);
    const ref = `${proxy.host}/list:1`;

    const w = await world(dir);
    const two = await w.json<PullJson>([
      "pull",
      "--plain-http",
      "--platform",
      "linux/arm64",
      "--platform",
      "linux/arm/v7",
      ref,
    ]);
    assertEquals(two.digest, index.descriptor.digest, "a Docker manifest list keeps its digest");
    assertEquals([...two.platforms].sort(), ["linux/arm/v7", "linux/arm64"]);
    assertEquals(blobGetsOf(proxy.seen, images[0]), 0);
    assertEquals(blobGetsOf(proxy.seen, images[1]), 2);
    assertEquals(blobGetsOf(proxy.seen, images[2]), 2);
    assertEquals((await imageEntry(w, ref))?.missingPlatforms, ["linux/amd64"]);

    proxy.reset();
    const all = await w.json<PullJson>(["pull", "--plain-http", "--all-platforms", ref]);
    assertEquals(all.platforms.length, 3);
    assertEquals(blobGetsOf(proxy.seen, images[0]), 2, "only the missing platform moves");
    assertEquals(blobGetsOf(proxy.seen, images[1]) + blobGetsOf(proxy.seen, images[2]), 0);
    const entry = await imageEntry(w, ref);
    assert(!entry?.incomplete, JSON.stringify(entry));
    await w.run(["images", "check", ref]);
  });
});

Deno.test("a pulled multi-platform index pushes back with the same digest", async () => {
  if (!(await haveRegistry("push index"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const { images, index } = await threePlatforms();
    await pushBuiltIndex(reg, "src", "1", images, index);
    const w = await world(dir);
    await w.run(["pull", "--plain-http", "--all-platforms", "-q", `${reg.host}/src:1`]);
    const pushed = await w.json<PushJson>([
      "push",
      "--plain-http",
      `${reg.host}/elsewhere/dst:2`,
      `${reg.host}/src:1`,
    ]);
    assertEquals(pushed.digest, index.descriptor.digest);
    assertEquals((await getManifest(reg, "elsewhere/dst", "2")).bytes, index.bytes);
    for (const i of images) {
      assertEquals(
        (await getManifest(reg, "elsewhere/dst", i.manifest.descriptor.digest)).bytes,
        i.manifest.bytes,
      );
    }
  });
});

Deno.test("push --platform of an index: one platform goes alone as a single-platform image, several as a new index of theirs; the registry accepts both", async () => {
  if (!(await haveRegistry("push --platform"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const { images, index } = await threePlatforms();
    const [amd, arm64, arm] = images;
    await pushBuiltIndex(reg, "src", "1", images, index);
    const w = await world(dir);
    // Only two platforms are in the store: the index as it is cannot be pushed.
    await w.run([
      "pull",
      "--plain-http",
      "-q",
      "--platform",
      "linux/amd64",
      "--platform",
      "linux/arm64",
      `${reg.host}/src:1`,
    ]);
    const local = `${reg.host}/src:1`;
    const whole = await w.run(["push", "--plain-http", `${reg.host}/dst:all`, local], { code: 1 });
    assert(whole.stderr.includes(arm.manifest.descriptor.digest), whole.stderr);

    const one = await w.run([
      "push",
      "--plain-http",
      "--json",
      "--platform",
      "linux/arm64",
      `${reg.host}/dst:one`,
      local,
    ]);
    const oneJson = JSON.parse(one.stdout) as PushJson;
    assertEquals(oneJson.digest, arm64.manifest.descriptor.digest);
    assertEquals((await getManifest(reg, "dst", "one")).bytes, arm64.manifest.bytes);

    const two = await w.json<PushJson>([
      "push",
      "--plain-http",
      "--platform",
      "linux/amd64",
      "--platform",
      "linux/arm64",
      `${reg.host}/dst:two`,
      local,
    ]);
    const served = await getManifest(reg, "dst", "two");
    const filtered = JSON.parse(new TextDecoder().decode(served.bytes));
    const original = JSON.parse(new TextDecoder().decode(index.bytes));
    assertEquals(filtered.manifests, original.manifests.slice(0, 2));
    assertEquals({ ...filtered, manifests: [] }, { ...original, manifests: [] });
    assert(two.digest !== index.descriptor.digest);
    for (const i of [amd, arm64]) {
      assertEquals(
        (await getManifest(reg, "dst", i.manifest.descriptor.digest)).bytes,
        i.manifest.bytes,
      );
    }
    // A platform the index does not have is refused before anything is sent.
    const none = await w.run(
      ["push", "--plain-http", "--platform", "linux/s390x", `${reg.host}/dst:none`, local],
      { code: 1 },
    );
    oneClearLine(none, `Cannot push ${reg.host}/dst:none: no manifest for linux/s390x`);
    const pullNone = await w.other("none").run(
      ["pull", "--plain-http", "--platform", "linux/s390x", local],
      { code: 1 },
    );
    oneClearLine(pullNone, `Cannot pull ${local}: no manifest for linux/s390x`);
  });
});
