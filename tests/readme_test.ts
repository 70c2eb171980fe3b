/**
 * The README's library example is run as it is written, on a named and on an unnamed
 * oci-archive: it prints every image (an unnamed entry as `<base>@<digest>`) and does not
 * crash. The second example (build and export) is run too.
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { blobsOf, buildImage, layoutFiles, tarOfFiles } from "./helpers/images.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The ```ts blocks of the README's "The library" section, in order. */
async function libraryExamples(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const section = readme.slice(
    readme.indexOf("## The library"),
    readme.indexOf("### The public API"),
  );
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function runExample(code: string, args: string[], cwd: string) {
  const file = `${cwd}/example.ts`;
  await Deno.writeTextFile(file, code);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${ROOT}deno.json`, file, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the README's library example lists a named and an unnamed archive's images", async () => {
  const [example] = await libraryExamples();
  assert(example?.includes("@lading/oci"), "no library example found");
  const dir = await Deno.makeTempDir({ prefix: "lading-readme-" });
  try {
    const image = await buildImage({
      layers: [{ files: [{ path: "etc/motd", content: "hi\n" }, { path: "bin/sh", content: "" }] }],
    });
    for (const named of [true, false]) {
      const entry = {
        descriptor: image.manifest.descriptor,
        ...(named ? { refName: "example.com/r:1" } : {}),
      };
      const archive = `${dir}/${named ? "named" : "unnamed"}.tar`;
      await Deno.writeFile(archive, await tarOfFiles(layoutFiles([entry], blobsOf(image))));
      const r = await runExample(example, [archive], dir);
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assertEquals(lines.length, 1, r.stdout);
      assertStringIncludes(lines[0], image.manifest.descriptor.digest);
      assertStringIncludes(lines[0], "linux/amd64");
      assertStringIncludes(lines[0], "4 paths"); // bin, bin/sh, etc, etc/motd
      if (named) assert(lines[0].startsWith("example.com/r:1 "), lines[0]);
      else assert(lines[0].includes(`@${image.manifest.descriptor.digest}`), lines[0]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the README's build example writes an archive", async () => {
  const [, build] = await libraryExamples();
  assert(build?.includes("exportArchiveFile"), "no build example found");
  const dir = await Deno.makeTempDir({ prefix: "lading-readme-" });
  try {
    const r = await runExample(build, [], dir);
    assertEquals(r.code, 0, r.stderr);
    assert((await Deno.stat(`${dir}/hello.tar`)).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
