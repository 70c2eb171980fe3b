/**
 * The package is publishable as it stands: `deno publish --dry-run` succeeds without a
 * warning and `deno doc --lint` is clean on every export path of deno.json (every public
 * symbol documented, no public type referring to a private one).
 * @module
 */
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

async function deno(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("deno doc --lint is clean on every export path", async () => {
  const entries = Object.values(config.exports as Record<string, string>);
  assert(entries.length >= 6, `exports: ${entries.join(", ")}`);
  const r = await deno(["doc", "--lint", ...entries]);
  assertEquals(r.code, 0, r.text);
});

Deno.test("deno publish --dry-run succeeds with no warning and publishes library files only", async () => {
  const r = await deno(["publish", "--dry-run", "--allow-dirty"]);
  assertEquals(r.code, 0, r.text);
  assert(!/warning/i.test(r.text), r.text);
  assert(/Dry run complete/.test(r.text), r.text);
  for (const dir of ["tests/", "bench/", "web-demo/", ".ci/"]) {
    assert(!r.text.includes(`${ROOT}${dir}`), `${dir} would be published`);
  }
  assert(r.text.includes(`${ROOT}LICENSE`), "LICENSE is not published");
});
