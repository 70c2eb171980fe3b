/** The README describes every command and every flag of the CLI. */
import { assert, assertEquals } from "../assert.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { commands } from "../../src/cli/commands.ts";
import { GLOBAL_FLAGS, JSON_FLAG, QUIET_FLAG } from "../../src/cli/common.ts";
import {
  formatMarkdown,
  readmeSection,
  renderReference,
  SECTION_START,
} from "./_readme_reference.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

/** Flag names in a markdown table's first column: `-o, --output FILE` gives "output". */
function flagsIn(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `(?:-\w, )?--([a-z][\w-]*)[^`]*` *\|/gm)].map((m) => m[1]);
}

Deno.test("the README's reference names exactly the commands and flags of the command table, no more", async () => {
  const { section } = await readmeSection();
  const globalPart = section.slice(0, section.indexOf("#### "));
  assertEquals(
    flagsIn(globalPart).sort(),
    [...GLOBAL_FLAGS, JSON_FLAG, QUIET_FLAG].map((f) => f.name).sort(),
    "global flags",
  );
  const parts = section.split(/^#### /m).slice(1);
  const documented = parts.map((p) => p.slice(0, p.indexOf("\n")));
  const loaded = await Promise.all(commands.map((e) => e.load()));
  assertEquals(documented, loaded.map((c) => `\`lading ${c.path.join(" ")}\``), "commands");
  for (const [i, c] of loaded.entries()) {
    assertEquals(
      flagsIn(parts[i]).sort(),
      c.flags.map((f) => f.name).sort(),
      `README: the flags of lading ${c.path.join(" ")}`,
    );
  }
  // Every flag the README's prose names for lading exists somewhere in the table.
  const known = new Set([
    ...GLOBAL_FLAGS.map((f) => f.name),
    ...loaded.flatMap((c) => c.flags.map((f) => f.name)),
    "version",
  ]);
  const prose = README.slice(README.indexOf("## Commands"), README.indexOf(SECTION_START));
  for (const block of prose.matchAll(/^```\n(lading [\s\S]*?)^```$/gm)) {
    // `--src-/--dst-tlscacert` stands for both flags.
    const text = block[1].replace(/--(\w+)-\/--(\w+)-([\w-]+)/g, "--$1-$3 --$2-$3");
    for (const m of text.matchAll(/(?<![\w-])--([a-z][\w-]*[a-z0-9])/g)) {
      assert(known.has(m[1]), `README names --${m[1]}, which no command takes:\n${block[1]}`);
    }
  }
});

Deno.test("the README's reference is exactly what 'deno task readme' makes from the command table", async () => {
  const { section } = await readmeSection();
  const made = await formatMarkdown(await renderReference());
  assertEquals(section.trimEnd(), made.trimEnd(), "run: deno task readme");
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
