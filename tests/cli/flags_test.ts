import { assertEquals, assertThrows } from "../assert.ts";
import { parseFlags, UsageError } from "../../src/cli/common.ts";

const spec = {
  string: ["format", "output"],
  multiple: ["platform"],
  boolean: ["json", "quiet", "force"],
  short: { o: "output", q: "quiet", f: "force" },
};

Deno.test("parseFlags: long, inline, short and repeated flags with positionals", () => {
  const r = parseFlags([
    "a",
    "--format",
    "docker",
    "--platform=linux/amd64",
    "-q",
    "--platform",
    "linux/arm64",
    "-o",
    "-",
    "b",
    "--store=/s",
  ], spec);
  assertEquals(r.values, {
    format: "docker",
    platform: ["linux/amd64", "linux/arm64"],
    quiet: true,
    output: "-",
    store: "/s",
  });
  assertEquals(r.positionals, ["a", "b"]);
});

Deno.test("parseFlags: combined short booleans, -ovalue, and -- ends the flags", () => {
  const r = parseFlags(["-qf", "-oout.tar", "--", "--json", "-q"], spec);
  assertEquals(r.values, { quiet: true, force: true, output: "out.tar" });
  assertEquals(r.positionals, ["--json", "-q"]);
  assertEquals(parseFlags(["-qo", "x"], spec).values, { quiet: true, output: "x" });
  assertEquals(parseFlags(["--output="], spec).values, { output: "" });
});

Deno.test("parseFlags: every misuse is a UsageError naming the flag", () => {
  const cases: [string[], string][] = [
    [["--nope"], "unknown option '--nope'"],
    [["-z"], "unknown option '-z'"],
    [["-qz"], "unknown option '-z'"],
    [["--format"], "option '--format' needs a value"],
    [["--format", "--json"], "option '--format' needs a value"],
    [["-o"], "option '-o' needs a value"],
    [["--json=true"], "option '--json' does not take a value"],
  ];
  for (const [args, message] of cases) {
    assertThrows(() => parseFlags(args, spec), UsageError, message);
  }
});
