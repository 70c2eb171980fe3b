/** The README describes every command and every flag of the CLI. */
import { assert, assertEquals } from "../assert.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { commands } from "../../src/cli/commands.ts";
import { GLOBAL_FLAGS } from "../../src/cli/common.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
const reference = README.slice(README.indexOf("### Every command and flag"));

Deno.test("the README lists every command with every flag, and the global flags", async () => {
  for (const f of GLOBAL_FLAGS) assert(reference.includes(`--${f.name}`), `--${f.name}`);
  for (const entry of commands) {
    const c = await entry.load();
    const at = reference.indexOf(`#### \`lading ${c.path.join(" ")}\``);
    assert(at >= 0, `README lacks lading ${c.path.join(" ")}`);
    const next = reference.indexOf("#### ", at + 5);
    const section = reference.slice(at, next < 0 ? undefined : next);
    for (const f of c.flags) {
      assert(
        section.includes(`--${f.name}`),
        `README: lading ${c.path.join(" ")} lacks --${f.name}`,
      );
    }
  }
});

Deno.test("the README's install line, run in a clean clone, installs a working lading command", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  if (!(await Deno.stat(`${root}.git`).then(() => true, () => false))) {
    if (Deno.env.get("CI") === "true") throw new Error("the install test needs a git checkout");
    console.log("%cskipped: not a git checkout (the install test clones it)", "color: yellow");
    return;
  }
  const line = README.split("\n").find((l) => l.startsWith("deno install "))!;
  const args = line.replace(/#.*$/, "").trim().split(/\s+/).slice(1);
  assert(args.includes("./cli.ts"), line);
  const dir = await Deno.makeTempDir({ prefix: "lading-install-" });
  const run = async (cmd: string, argv: string[], cwd: string) => {
    const out = await new Deno.Command(cmd, {
      args: argv,
      cwd,
      env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  try {
    const clone = await run("git", ["clone", "-q", root, `${dir}/lading`], dir);
    assertEquals(clone.code, 0, clone.stderr);
    // The README's line, into a private root instead of ~/.deno.
    const at = args.indexOf("./cli.ts");
    const install = await run(Deno.execPath(), [
      ...args.slice(0, at),
      "--root",
      `${dir}/root`,
      ...args.slice(at),
    ], `${dir}/lading`);
    assertEquals(install.code, 0, install.stderr);
    const lading = `${dir}/root/bin/lading`;
    const version = await run(lading, ["--version"], dir);
    assertEquals(version.stdout, `lading ${denoJson.version}\n`, version.stderr);
    // A real round trip from another directory: import an archive, list it, read a file.
    const { demoImage } = await import("../helpers/images.ts");
    await Deno.writeFile(`${dir}/demo.tar`, (await demoImage()).archive);
    const store = ["--store", `${dir}/store`];
    assertEquals((await run(lading, ["import", "-q", `${dir}/demo.tar`, ...store], dir)).code, 0);
    const ls = await run(lading, ["images", "ls", "-q", ...store], dir);
    assertEquals(ls.stdout, "example.com/demo:1\n", ls.stderr);
    const cat = await run(lading, ["cat", "example.com/demo:1", "/bin/hello", ...store], dir);
    assertEquals(cat.stdout, "#!/bin/sh\necho hello\n", cat.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
