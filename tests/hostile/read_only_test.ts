/**
 * A read-only store: commands that only read work; commands that write say so in one line
 * (no stack trace), exit 1, and the store's tree is unchanged. Made read-only in a way root
 * honours too: a read-only bind mount (EROFS), else the immutable attribute (`chattr +i`,
 * EPERM), else — for other users — file modes (EACCES). Skipped visibly when none is
 * possible here; under CI=true that is a failure.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { snapshot, withTempDir } from "../import/_support.ts";
import { runDeno } from "../helpers/peak_rss.ts";
import { buildImage } from "../helpers/images.ts";
import { layoutTar } from "./_cases.ts";
import { succeeds } from "../interop/_tools.ts";

const cli = new URL("../../cli.ts", import.meta.url);

const sh = succeeds;

/** Makes `dir` read-only; returns how, and the function that undoes it (or undefined). */
async function makeReadOnly(
  dir: string,
): Promise<{ how: string; undo: () => Promise<void> } | undefined> {
  if (Deno.uid() !== 0) {
    if (await sh("chmod", ["-R", "a-w", dir])) {
      return { how: "file modes", undo: async () => void await sh("chmod", ["-R", "u+w", dir]) };
    }
    return undefined;
  }
  if (await sh("mount", ["--bind", dir, dir])) {
    if (await sh("mount", ["-o", "remount,bind,ro", dir])) {
      return { how: "a read-only bind mount", undo: async () => void await sh("umount", [dir]) };
    }
    await sh("umount", [dir]);
  }
  if (await sh("chattr", ["-R", "+i", dir])) {
    return { how: "chattr +i", undo: async () => void await sh("chattr", ["-R", "-i", dir]) };
  }
  return undefined;
}

Deno.test("a read-only store: reading commands work, writing ones fail in one line and change nothing", async () => {
  await withTempDir(async (dir) => {
    const store = `${dir}/store`;
    const image = await buildImage({ layers: [{ files: [{ path: "a", content: "a\n" }] }] });
    const other = await buildImage({ layers: [{ files: [{ path: "b", content: "b\n" }] }] });
    await Deno.writeFile(`${dir}/image.tar`, await layoutTar(image, "example.com/ro:1"));
    await Deno.writeFile(`${dir}/other.tar`, await layoutTar(other, "example.com/ro:2"));
    const seeded = await runDeno(cli, ["import", "--store", store, `${dir}/image.tar`]);
    assertEquals(seeded.code, 0, seeded.stderr);
    const before = await snapshot(store);
    const readOnly = await makeReadOnly(store);
    if (!readOnly) {
      const message = "read-only store: no way to make a directory read-only here";
      if (Deno.env.get("CI") === "true") throw new Error(message);
      console.log(`%cskipped: ${message}`, "color: yellow");
      return;
    }
    try {
      for (const args of [["images", "ls"], ["images", "check"], ["content", "verify"]]) {
        const r = await runDeno(cli, [...args, "--store", store]);
        assertEquals(r.code, 0, `${args.join(" ")} (${readOnly.how}): ${r.stderr}`);
      }
      for (
        const args of [
          ["import", `${dir}/other.tar`],
          ["gc"],
          ["images", "rm", "example.com/ro:1"],
          ["images", "tag", "example.com/ro:1", "example.com/ro:3"],
        ]
      ) {
        const r = await runDeno(cli, [...args, "--store", store]);
        const what = `${args.join(" ")} (${readOnly.how})`;
        assertEquals(r.code, 1, `${what}: ${r.stderr}`);
        const lines = r.stderr.split("\n").filter((l) => l);
        assertEquals(lines.length, 1, `${what}:\n${r.stderr}`);
        assertMatch(lines[0], /^lading: .*(Read-only file system|not permitted|ermission denied)/);
        assert(!/\bat .*:\d+:\d+/.test(r.stderr), `stack trace:\n${r.stderr}`);
      }
    } finally {
      await readOnly.undo();
    }
    assertEquals(await snapshot(store), before);
  });
});
