import { InvalidInputError, NotFoundError } from "../../src/errors.ts";
import { readImageFile } from "../../src/layers/read_file.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { storedImage, text } from "./util.ts";

async function image() {
  return await storedImage({
    layers: [
      {
        files: [
          { path: "etc/os-release", content: "NAME=base\n" },
          { path: "usr/lib/os-release", type: "symlink", linkname: "../../etc/os-release" },
          { path: "escape", type: "symlink", linkname: "../../../../etc/os-release" },
          { path: "abs", type: "symlink", linkname: "/etc" },
          { path: "outside", type: "symlink", linkname: "/proc/self/environ" },
          { path: "big", content: "x".repeat(200_000) },
          { path: "hl", type: "link", linkname: "big" },
        ],
      },
      { files: [{ path: "etc/os-release", content: "NAME=top\n" }], compression: "zstd" },
    ],
  });
}

Deno.test("readImageFile() returns the merged view's bytes, following symlinks inside the image", async () => {
  const { store, image: img } = await image();
  for (const p of ["etc/os-release", "/usr/lib/os-release", "escape", "abs/os-release"]) {
    const f = await readImageFile(store, img, { path: p });
    assertEquals(await text(f.stream), "NAME=top\n");
  }
  assertEquals(
    (await text((await readImageFile(store, img, { path: "hl" })).stream)).length,
    200_000,
  );
});

Deno.test("readImageFile() never leaves the image", async () => {
  const { store, image: img } = await image();
  await assertRejects(() => readImageFile(store, img, { path: "outside" }), NotFoundError);
  await assertRejects(
    () => readImageFile(store, img, { path: "../../etc/passwd" }),
    InvalidInputError,
  );
});

Deno.test("readImageFile() refuses directories and missing paths", async () => {
  const { store, image: img } = await image();
  await assertRejects(
    () => readImageFile(store, img, { path: "etc" }),
    InvalidInputError,
    "directory",
  );
  await assertRejects(() => readImageFile(store, img, { path: "nope" }), NotFoundError);
});

Deno.test("readImageFile() can be cancelled part way", async () => {
  const { store, image: img } = await image();
  const f = await readImageFile(store, img, { path: "big" });
  const reader = f.stream.getReader();
  await reader.read();
  await reader.cancel();
});
