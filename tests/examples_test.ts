/**
 * Every public function, class and object of the package (every export of every export path
 * in deno.json) has a runnable `@example` in its doc comment that imports `@lading/oci` (or
 * one of its subpaths), as a user would copy it — never a relative path. The examples run
 * as doc tests (`deno test --doc`, with deno.json's import map pointing `@lading/oci` at
 * this checkout); the few that need a browser are marked `ignore` there and run in
 * Chromium by `tests/e2e/opfs_examples_test.ts`. Constants written in UPPER_SNAKE_CASE (media
 * types, annotation keys, limits) are values, documented without an example.
 * @module
 */
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

/** Where the browser-only examples are (OPFS: run in Chromium instead). */
export const BROWSER_ONLY = "src/store/opfs";

interface DocTag {
  kind: string;
  doc?: string;
}
interface Declaration {
  kind: string;
  location: { filename: string; line: number };
  jsDoc?: { doc?: string; tags?: DocTag[] };
}
interface DocSymbol {
  name: string;
  declarations: Declaration[];
}

/** Every public symbol of every export path: `[entry, name, declaration]`. */
async function publicSymbols(): Promise<[string, string, Declaration][]> {
  const entries = Object.entries(config.exports as Record<string, string>);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries.map(([, file]) => file)],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols: DocSymbol[] }>;
  };
  const result: [string, string, Declaration][] = [];
  for (const [entry, file] of entries) {
    const node = doc.nodes[new URL(file, `file://${ROOT}`).href];
    assert(node, `deno doc returned nothing for ${file}`);
    for (const symbol of node.symbols) {
      for (const d of symbol.declarations) {
        if (!["function", "class", "variable", "enum"].includes(d.kind)) continue;
        if (/^[A-Z][A-Z0-9_]*$/.test(symbol.name)) continue; // a constant value
        result.push([entry, symbol.name, d]);
        break;
      }
    }
  }
  return result;
}

const symbols = await publicSymbols();
const where = (d: Declaration) =>
  `${d.location.filename.replace(`file://${ROOT}`, "")}:${d.location.line}`;
const examplesOf = (d: Declaration) =>
  (d.jsDoc?.tags ?? []).filter((t) => t.kind === "example").map((t) => t.doc ?? "");

Deno.test("every public function, class and object has an @example", () => {
  assert(symbols.length > 100, `only ${symbols.length} public symbols found`);
  const missing = symbols.filter(([, , d]) => examplesOf(d).length === 0)
    .map(([entry, name, d]) => `${entry} ${name} (${where(d)})`);
  assert(missing.length === 0, `no @example:\n${missing.join("\n")}`);
});

Deno.test("every example imports the package by its published name, never a relative path", () => {
  const bad: string[] = [];
  for (const [entry, name, d] of symbols) {
    for (const example of examplesOf(d)) {
      const specifiers = [...example.matchAll(/\bfrom\s+"([^"]+)"/g)].map((m) => m[1]);
      if (specifiers.some((s) => s.startsWith(".") || s.startsWith("/"))) {
        bad.push(`${entry} ${name} (${where(d)}): imports ${specifiers.join(", ")}`);
      } else if (!specifiers.some((s) => s === "@lading/oci" || s.startsWith("@lading/oci/"))) {
        bad.push(`${entry} ${name} (${where(d)}): does not import @lading/oci`);
      }
    }
  }
  assert(bad.length === 0, bad.join("\n"));
});

Deno.test("examples are not skipped by the doc tests, except the browser-only ones", () => {
  const skipped: string[] = [];
  for (const [entry, name, d] of symbols) {
    const file = where(d).split(":")[0];
    for (const example of examplesOf(d)) {
      const fence = example.match(/^```(\S*)([^\n]*)/)?.[2] ?? "";
      if (/\bignore\b|\bno-eval\b/.test(fence) && !file.startsWith(BROWSER_ONLY)) {
        skipped.push(`${entry} ${name} (${where(d)})`);
      }
    }
  }
  assert(
    skipped.length === 0,
    `examples marked ignore outside the browser-only files:\n${skipped}`,
  );
});

Deno.test("the doc tests run over every file with examples, the root modules included", () => {
  const task: string = config.tasks.test;
  assert(/--doc\b/.test(task), task);
  for (const path of ["mod.ts", "src/"]) assert(task.split(" ").includes(path), task);
});
