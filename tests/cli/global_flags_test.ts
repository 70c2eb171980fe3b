/**
 * The global flags (`--store`, `--lock-timeout`, `--debug`, `-q`, `--json`) are taken by every
 * command, before or after its words; `--json` is refused in one usage line only by the
 * commands whose output is raw bytes or a script.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { commands } from "../../src/cli/commands.ts";
import { parseCommand } from "../../src/cli/common.ts";
import { lading, show, withDemo } from "./_run.ts";

/** The commands that print raw bytes (or a script): no JSON form of their output. */
const RAW = new Set(["cat", "flatten", "content get", "completions"]);

Deno.test("every command accepts -q, --store, --lock-timeout and --debug; --json unless its output is raw bytes", async () => {
  for (const entry of commands) {
    const c = await entry.load();
    const name = c.path.join(" ");
    const parsed = parseCommand(["-q", "--store", "s", "--lock-timeout", "1", "--debug"], c);
    assertEquals(parsed.values.quiet, true, name);
    const hasJson = c.flags.some((f) => f.name === "json");
    assertEquals(hasJson, !RAW.has(name), `${name}: --json`);
    if (!hasJson) {
      const r = await lading("/nonexistent", [...c.path, "x", "--json"]);
      assertEquals(r.code, 2, show(r));
      assertStringIncludes(r.stderr, `'lading ${name}' has no --json`);
    }
  }
});

Deno.test("global flags give the same result before and after the command, for every read command", async () => {
  await withDemo(async ({ store, archive }) => {
    await lading(store, ["import", archive]);
    const img = "example.com/demo:1";
    const cases: string[][] = [
      ["images", "ls"],
      ["images", "inspect", img],
      ["images", "check", "--quick"],
      ["layers", img],
      ["ls", "-R", img],
      ["cat", img, "/bin/hello"],
      ["diff", img, "--layer", "1"],
      ["waste", img],
      ["content", "ls"],
      ["content", "verify"],
      ["manifest", img],
      ["config", img],
      ["digest", img],
      ["gc", "--dry-run"],
    ];
    for (const args of cases) {
      const global = ["--store", store, "--debug", "-q"];
      const before = await lading(undefined, [...global, ...args]);
      const after = await lading(undefined, [...args, ...global]);
      assertEquals(before.code, 0, `${args.join(" ")}: ${show(before)}`);
      assertEquals([after.code, after.stdout], [before.code, before.stdout], args.join(" "));
      assert(
        before.stdout.length > 0 ||
          ["gc", "content verify"].includes(args.slice(0, 2).join(" ").replace(" --dry-run", "")),
        args.join(" "),
      );
    }
    const d = await lading(undefined, ["--json", "--store", store, "digest", img]);
    assertEquals(Object.keys(JSON.parse(d.stdout)), ["digest", "mediaType", "size"]);
  });
});
