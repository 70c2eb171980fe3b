/**
 * `lading copy` between repositories and registries: exact digests, cross-repository
 * mounts on the same registry (counted by the fault proxy), and a push from an image that
 * came from another repository of the same registry mounts instead of uploading.
 */
import { assert, assertEquals } from "../assert.ts";
import { withTempDir } from "../export/_support.ts";
import { buildIndex } from "../helpers/images.ts";
import {
  notPrinted,
  oneClearLine,
  type PushJson,
  sampleImage,
  visibleState,
  world,
} from "./_cli.ts";
import {
  blobBytes,
  getManifest,
  haveRegistry,
  pushBuiltImage,
  pushBuiltIndex,
  startFaultProxy,
  startRegistry,
} from "./_registry.ts";

Deno.test("copy between repositories of one registry mounts every blob and keeps the digest", async () => {
  if (!(await haveRegistry("copy with mount"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const image = await sampleImage([50_000, 1000]);
    const digest = await pushBuiltImage(reg, "team/src", "1", image);
    const w = await world(dir);
    await w.run([
      "copy",
      "--plain-http",
      `${proxy.host}/team/src:1`,
      `${proxy.host}/other/dst:copied`,
    ]);
    const m = await getManifest(reg, "other/dst", "copied");
    assertEquals(m.digest, digest);
    assertEquals(m.bytes, image.manifest.bytes);
    const mounts = proxy.seen.filter((s) =>
      s.kind === "upload" && s.method === "POST" && /[?&]mount=/.test(s.query)
    );
    assertEquals(mounts.length, 3, "config and both layers are mounted");
    assert(mounts.every((s) => s.status === 201), "the registry accepted the mounts");
    assert(
      mounts.every((s) => /[?&]from=team%2Fsrc|[?&]from=team\/src/.test(s.query)),
      mounts[0]?.query,
    );
    const layerGets = proxy.seen.filter((s) =>
      s.kind === "blob" && s.method === "GET" &&
      image.layers.some((l) => s.path.endsWith(l.descriptor.digest))
    );
    assertEquals(layerGets.length, 0, "no layer is downloaded (reading the config is allowed)");
    assertEquals(proxy.count({ kind: "upload", method: "PUT" }), 0, "no layer is uploaded");
    assertEquals(
      await blobBytes(reg, "other/dst", image.layers[0].descriptor.digest),
      image.layers[0].bytes,
    );
  });
});

Deno.test("copy between two registries streams every blob and keeps a multi-platform digest", async () => {
  if (!(await haveRegistry("copy across registries"))) return;
  await withTempDir(async (dir) => {
    await using a = await startRegistry();
    await using b = await startRegistry();
    const images = [
      await sampleImage([3000], { platform: { os: "linux", architecture: "amd64" } }),
      await sampleImage([3100], { platform: { os: "linux", architecture: "arm64" } }),
    ];
    const index = await buildIndex(images);
    await pushBuiltIndex(a, "src", "multi", images, index);
    const w = await world(dir);
    await w.run(["copy", "--plain-http", `${a.host}/src:multi`, `${b.host}/dst:multi`]);
    assertEquals((await getManifest(b, "dst", "multi")).bytes, index.bytes);
    for (const i of images) {
      assertEquals(
        (await getManifest(b, "dst", i.manifest.descriptor.digest)).bytes,
        i.manifest.bytes,
      );
      assertEquals(await blobBytes(b, "dst", i.layers[0].descriptor.digest), i.layers[0].bytes);
    }
    assertEquals(await visibleState(w.store), "(no names)", "copy leaves the store alone");
  });
});

Deno.test("pushing an image pulled from another repository of the same registry mounts its blobs", async () => {
  if (!(await haveRegistry("push mounts"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    await using proxy = await startFaultProxy(reg.url);
    const image = await sampleImage([20_000]);
    await pushBuiltImage(reg, "origin/app", "1", image);
    const w = await world(dir);
    await w.run(["pull", "--plain-http", "-q", `${proxy.host}/origin/app:1`]);
    proxy.reset();
    const pushed = await w.json<PushJson>([
      "push",
      "--plain-http",
      `${proxy.host}/mirror/app:1`,
      `${proxy.host}/origin/app:1`,
    ]);
    assertEquals(pushed.digest, image.manifest.descriptor.digest);
    assertEquals(pushed.blobs.mounted, 2, JSON.stringify(pushed.blobs));
    assertEquals(pushed.blobs.uploaded, 1, "only the manifest is sent");
    assertEquals(proxy.count({ kind: "upload", method: "PUT" }), 0);
  });
});

Deno.test("copy between repositories under token auth: one token covers both repositories and the blobs are mounted", async () => {
  if (!(await haveRegistry("copy with token auth", { token: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({ auth: "token" });
    const image = await sampleImage([20_000]);
    await pushBuiltImage(reg, "team/src", "1", image);
    const w = await world(dir);
    const copied = await w.json<PushJson>([
      "copy",
      ...reg.cliFlags(),
      `${reg.host}/team/src:1`,
      `${reg.host}/team/dst:1`,
    ]);
    assertEquals(copied.blobs.mounted, 2, JSON.stringify(copied.blobs));
    assertEquals((await getManifest(reg, "team/dst", "1")).bytes, image.manifest.bytes);
    const granted = reg.tokens!.requests.flatMap((t) => t.granted);
    assert(granted.includes("repository:team/src:pull"), JSON.stringify(reg.tokens!.requests));
    assert(granted.some((g) => g.startsWith("repository:team/dst:") && g.includes("push")));
  });
});

/** `lading copy` with alice's account at the source and bob's at the target. */
const TWO_ACCOUNTS = [
  "copy",
  "--plain-http",
  "--src-user",
  "alice:alice-pass",
  "--dst-user",
  "bob:bob-pass",
];

Deno.test("copy --src-user / --dst-user: each registry gets its own account (skopeo's --src-creds / --dest-creds)", async () => {
  if (!(await haveRegistry("copy with two accounts"))) return;
  await withTempDir(async (dir) => {
    await using a = await startRegistry({ auth: "basic", users: { alice: "alice-pass" } });
    await using b = await startRegistry({ auth: "basic", users: { bob: "bob-pass" } });
    const image = await sampleImage([20_000]);
    const digest = await pushBuiltImage(a, "src", "1", image);
    const w = await world(dir);
    // One --user for both: the target refuses alice, in one clear line naming the target.
    const refused = await w.run([
      "copy",
      "--plain-http",
      "--user",
      "alice:alice-pass",
      `${a.host}/src:1`,
      `${b.host}/dst:1`,
    ], { code: 1 });
    oneClearLine(refused, b.host, "authentication failed");
    notPrinted(refused, "alice-pass");
    const copied = await w.json<PushJson>([
      ...TWO_ACCOUNTS,
      `${a.host}/src:1`,
      `${b.host}/dst:1`,
    ]);
    assertEquals(copied.digest, digest);
    assertEquals(copied.blobs.uploaded, 3, JSON.stringify(copied.blobs));
    const m = await getManifest(b, "dst", "1");
    assertEquals(m.bytes, image.manifest.bytes);
    assertEquals(
      await blobBytes(b, "dst", image.layers[0].descriptor.digest),
      image.layers[0].bytes,
    );
    // --src-user alone: the target falls back to --user.
    await w.run([
      "copy",
      "--plain-http",
      "--user",
      "bob:bob-pass",
      "--src-user",
      "alice:alice-pass",
      `${a.host}/src:1`,
      `${b.host}/dst:2`,
    ]);
    assertEquals((await getManifest(b, "dst", "2")).bytes, image.manifest.bytes);
  });
});

Deno.test("copy within one token registry with two accounts: no mount (the target's account cannot read the source), blobs are uploaded", async () => {
  if (!(await haveRegistry("copy with two token accounts", { token: true }))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry({
      auth: "token",
      // admin (the first user) seeds; alice may only read team/src, bob only write team/dst.
      users: { admin: "admin-pass", alice: "alice-pass", bob: "bob-pass" },
      token: {
        grant: (user, repo, asked) =>
          user === "admin"
            ? asked
            : user === "alice" && repo === "team/src"
            ? asked.filter((a) => a === "pull")
            : user === "bob" && repo === "team/dst"
            ? asked
            : [],
      },
    });
    const image = await sampleImage([20_000]);
    await pushBuiltImage(reg, "team/src", "1", image);
    const w = await world(dir);
    const copied = await w.json<PushJson>([
      ...TWO_ACCOUNTS,
      `${reg.host}/team/src:1`,
      `${reg.host}/team/dst:1`,
    ]);
    assertEquals(copied.blobs.mounted, 0, JSON.stringify(copied.blobs));
    assertEquals(copied.blobs.uploaded, 3, JSON.stringify(copied.blobs));
    assertEquals((await getManifest(reg, "team/dst", "1")).bytes, image.manifest.bytes);
    const asked = reg.tokens!.requests;
    assert(
      asked.every((t) => t.user !== "bob" || t.scopes.every((x) => !x.includes("team/src"))),
      "bob is never asked to read team/src",
    );
    assert(
      asked.every((t) => t.user !== "alice" || t.scopes.every((x) => !x.includes("team/dst"))),
      "alice's credentials never go to the target",
    );
  });
});
