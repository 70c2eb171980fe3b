/**
 * One unit system in every text output (SI: `1.2 kB`, `34 MB`), bytes in JSON, and counts
 * that agree with their nouns.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { lading, show, withDemo } from "./_run.ts";

const SIZE = /^\d+(\.\d)? (B|kB|MB|GB)$/;

Deno.test("text outputs print sizes in SI units, JSON in bytes: content ls, images ls, layers", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    const content = await lading(store, ["content", "ls"]);
    assertEquals(content.code, 0, show(content));
    const rows = content.stdout.trim().split("\n").slice(1).map((l) => l.split(/ {3,}/));
    assertEquals(rows.length, 4);
    for (const [digest, size] of rows) {
      assertMatch(digest, /^sha256:[0-9a-f]{64}$/);
      assertMatch(size, SIZE);
    }
    const json = JSON.parse((await lading(store, ["content", "ls", "--json"])).stdout);
    for (const b of json) assert(Number.isInteger(b.size), JSON.stringify(b));
    const images = (await lading(store, ["images", "ls"])).stdout.split("\n")[1].split(/ {3,}/);
    assertMatch(images[3], SIZE);
    const layers = (await lading(store, ["layers", "example.com/demo:1"])).stdout.split("\n");
    for (const l of layers.slice(1, -1)) {
      const cells = l.split(/ {3,}/);
      assertMatch(cells[3], SIZE);
      assertMatch(cells[4], SIZE);
    }
  });
});

Deno.test("counts agree with their nouns: 1 image, 2 names, 1 blob", async () => {
  await withDemo(async ({ store, archive }) => {
    const first = await lading(store, ["import", archive]);
    assertMatch(first.stderr, /^blobs: 4 added, 0 present \(/m);
    await lading(store, ["images", "tag", "example.com/demo:1", "example.com/b:1"]);
    const rm = await lading(store, ["images", "rm", "example.com/b:1"]);
    assertMatch(rm.stderr, /^removed 1 name;/);
    const check = await lading(store, ["images", "check", "example.com/demo:1"]);
    assertMatch(check.stdout, /\(1 manifest, 4 blobs, /);
    const exported = await lading(store, ["export", "-o", "/dev/null", "example.com/demo:1"]);
    assertMatch(exported.stderr, /^exported 1 image \(example\.com\/demo:1\), 4 blobs, /);
    for (const text of [first.stderr, rm.stderr, check.stdout, exported.stderr]) {
      assert(!/\b1 (blobs|images|names|manifests|entries|files|layers)\b/.test(text), text);
      assert(!/\b([02-9]|\d\d+) (blob|image|name|manifest|entry|file|layer)\b/.test(text), text);
    }
  });
});
