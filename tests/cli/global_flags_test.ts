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
    // A bad global value is a usage error in every command, not only in those that use it.
    for (const bad of [["--store="], ["--store", ""], ["--lock-timeout", "soon"]]) {
      for (const args of [["images", "ls"], ["cat", img, "/bin/hello"], ["gc"]]) {
        const r = await lading(store, [...bad, ...args]);
        assertEquals(r.code, 2, `${bad.join(" ")} ${args.join(" ")}: ${show(r)}`);
      }
    }
    const d = await lading(undefined, ["--json", "--store", store, "digest", img]);
    assertEquals(Object.keys(JSON.parse(d.stdout)), ["digest", "mediaType", "size"]);
  });
});

Deno.test("every operating-system error that reaches the top level is one line and its exit code, never a stack trace", async () => {
  const { reportError } = await import("../../src/cli/common.ts");
  const cases: [Error, number, RegExp][] = [
    [
      new Deno.errors.NotFound("No such file or directory (os error 2): open 'x'"),
      1,
      /^lading: No such file/,
    ],
    [
      new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/root/x'"),
      1,
      /^lading: Permission denied/,
    ],
    [
      new Deno.errors.NotADirectory("Not a directory (os error 20): stat 'f/x'"),
      1,
      /^lading: Not a directory/,
    ],
    [
      new Deno.errors.IsADirectory("Is a directory (os error 21): open 'd'"),
      1,
      /^lading: Is a directory/,
    ],
    [new Error("No space left on device (os error 28)"), 1, /^lading: no space left on the device/],
    [
      new Deno.errors.Interrupted("Interrupted system call (os error 4)"),
      130,
      /^lading: interrupted$/,
    ],
    [new Deno.errors.BrokenPipe("Broken pipe (os error 32)"), 141, /^$/],
    [Object.assign(new Error("write EPIPE"), { code: "EPIPE" }), 141, /^$/],
    [new TypeError("x is undefined"), 1, /^lading: internal error: TypeError: x is undefined$/],
  ];
  for (const [e, code, line] of cases) {
    let err = "";
    const io = {
      out: () => {},
      err: (t: string) => void (err += t),
      stdout: new WritableStream(),
      stdin: new ReadableStream(),
      stderrIsTerminal: false,
      env: () => undefined,
    };
    assertEquals(reportError(e, io), code, e.message);
    const lines = err.split("\n").filter((l) => l);
    assert(lines.length <= 1, err);
    assert(line.test(lines[0] ?? ""), `${e.message}: ${err}`);
    assert(!/\n\s+at /.test(err), err);
  }
});
