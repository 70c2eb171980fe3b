/**
 * The hostile corpus, each case in a child process: the exit code; stderr is ONE line
 * starting "lading: ", without a stack trace or a control character; the store's tree
 * (every path and the sha256 of every file) is the same before and after; peak RSS
 * ≤ 256 MiB (GNU time). Cases that are valid input (`accepted`) must succeed instead.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { snapshot } from "../import/_support.ts";
import { RSS_LIMIT, runDeno } from "../helpers/peak_rss.ts";
import { hostileCases, layoutTar } from "./_cases.ts";
import { buildImage } from "../helpers/images.ts";

const cli = new URL("../../cli.ts", import.meta.url);
const MIB = 1024 * 1024;

/** A store that holds one good image, made once and copied for each case. */
let template: string | undefined;
async function seededStore(dir: string): Promise<string> {
  if (!template) {
    template = await Deno.makeTempDir({ prefix: "lading-hostile-seed-" });
    const seed = await buildImage({ layers: [{ files: [{ path: "seed", content: "seed\n" }] }] });
    await Deno.writeFile(`${template}/seed.tar`, await layoutTar(seed, "example.com/seed:1"));
    const r = await runDeno(cli, [
      "import",
      "--store",
      `${template}/store`,
      `${template}/seed.tar`,
    ]);
    assertEquals(r.code, 0, r.stderr);
  }
  const cp = await new Deno.Command("cp", { args: ["-a", `${template}/store`, `${dir}/store`] })
    .output();
  assertEquals(cp.code, 0);
  return `${dir}/store`;
}

globalThis.addEventListener("unload", () => {
  if (template) Deno.removeSync(template, { recursive: true });
});

for (const c of await hostileCases()) {
  Deno.test(`hostile: ${c.name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "lading-hostile-" });
    try {
      const store = await seededStore(dir);
      for (const [name, bytes] of (await c.files?.()) ?? []) {
        await Deno.writeFile(`${dir}/${name}`, bytes);
      }
      // Commands that read a stored image get it imported first.
      if (c.importFirst) {
        const r = await runDeno(cli, ["import", "--store", store, `${dir}/input`]);
        assertEquals(r.code, 0, r.stderr);
      }
      await c.prepareStore?.(store);
      const before = await snapshot(store).catch((e) => String(e));
      const outsideBefore = await snapshot(`${dir}/outside`).catch(() => undefined);
      const args = c.args.map((a) => a.replaceAll("$W", dir).replaceAll("$S", store));
      const r = await runDeno(cli, [...args, "--store", store], { shellPrefix: c.shellPrefix });
      const code = c.code ?? 1;
      assertEquals(r.code, code, `exit code ${r.code}, stderr: ${r.stderr.slice(0, 400)}`);
      assert(r.peakRss <= RSS_LIMIT, `peak RSS ${Math.round(r.peakRss / MIB)} MiB > 256 MiB`);
      if (code !== 0) {
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        assertEquals(lines.length, 1, `stderr is not one line:\n${r.stderr.slice(0, 2000)}`);
        assertMatch(lines[0], /^lading: /);
        assert(!/\bat .*:\d+:\d+/.test(r.stderr), `stack trace:\n${r.stderr}`);
        // deno-lint-ignore no-control-regex
        assert(!/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stderr), `control character in ${r.stderr}`);
        assert(lines[0].length < 2000, `a ${lines[0].length}-character line`);
        if (c.message) assertMatch(lines[0], c.message);
        if (c.notMessage) assert(!c.notMessage.test(lines[0]), lines[0]);
      }
      if (!c.accepted) {
        const after = await snapshot(store).catch((e) => String(e));
        assertEquals(after, before, "the store changed");
      }
      if (outsideBefore) {
        assertEquals(await snapshot(`${dir}/outside`), outsideBefore, "files outside changed");
      }
      await c.after?.(store, dir);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}
