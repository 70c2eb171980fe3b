/**
 * The public API as written down is the public API as built: the README's table ("The
 * public API") names every function, class and constant of each export path of deno.json,
 * and nothing else, each under the entry point that exports it; a call written with its
 * arguments has no more arguments than the function takes. And every exported function
 * takes at most two positional arguments, then an options object (Deno's style guide).
 * @module
 */
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const readme = await Deno.readTextFile(`${ROOT}README.md`);

interface Param {
  kind: string;
  name?: string;
  optional?: boolean;
  left?: { name?: string };
  tsType?: { kind: string };
}
interface Declaration {
  kind: string;
  def?: { params?: Param[] };
}
interface Exported {
  kinds: Set<string>;
  params?: Param[];
}

/** Entry point name (`@lading/oci/fs`) → exported symbol → what it is. */
async function exportsByEntry(): Promise<Map<string, Map<string, Exported>>> {
  const entries = Object.entries(config.exports as Record<string, string>);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries.map(([, file]) => file)],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const result = new Map<string, Map<string, Exported>>();
  for (const [key, file] of entries) {
    const name = key === "." ? "@lading/oci" : `@lading/oci/${key.slice(2)}`;
    const symbols = new Map<string, Exported>();
    const node = doc.nodes[new URL(file, `file://${ROOT}`).href];
    for (const s of node.symbols as { name: string; declarations: Declaration[] }[]) {
      const fn = s.declarations.find((d) => d.kind === "function");
      symbols.set(s.name, {
        kinds: new Set(s.declarations.map((d) => d.kind)),
        ...(fn ? { params: fn.def?.params ?? [] } : {}),
      });
    }
    result.set(name, symbols);
  }
  // A symbol exported by two entry points is described once; the other has a `reference`.
  const described = new Map<string, Exported>();
  for (const symbols of result.values()) {
    for (const [n, s] of symbols) if (!s.kinds.has("reference")) described.set(n, s);
  }
  for (const symbols of result.values()) {
    for (const [n, s] of symbols) {
      if (s.kinds.has("reference") && described.has(n)) symbols.set(n, described.get(n)!);
    }
  }
  return result;
}

const VALUE_KINDS = ["function", "class", "variable", "enum"];
const isValue = (e: Exported) => VALUE_KINDS.some((k) => e.kinds.has(k));

interface Row {
  readonly task: string;
  readonly entry: string;
  /** Backticked spans of the call column. */
  readonly calls: string[];
}

function tableRows(): Row[] {
  const start = readme.indexOf("### The public API");
  assert(start >= 0, "the README has no '### The public API' section");
  const section = readme.slice(start, readme.indexOf("\n## ", start));
  const lines = section.split("\n").filter((l) => l.startsWith("|"));
  return lines.slice(2).map((line) => {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    assertEquals(cells.length, 3, line);
    return {
      task: cells[0],
      entry: cells[2].replace(/`/g, ""),
      calls: [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]),
    };
  });
}

/** `name(a, { b, c }, d)` → `["a", "{ b, c }", "d"]` (commas at the top level only). */
function argumentsOf(call: string): string[] | undefined {
  const open = call.indexOf("(");
  if (open < 0 || !call.endsWith(")")) return undefined;
  const inner = call.slice(open + 1, -1).trim();
  if (inner === "") return [];
  const args: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of inner) {
    if ("({[".includes(ch)) depth++;
    if (")}]".includes(ch)) depth--;
    if (ch === "," && depth === 0) {
      args.push(current.trim());
      current = "";
    } else current += ch;
  }
  args.push(current.trim());
  return args;
}

const exported = await exportsByEntry();
const rows = tableRows();

Deno.test("the README's API table names every function, class and constant of each entry point, and nothing else", () => {
  assert(rows.length > 20, `only ${rows.length} rows`);
  const listed = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const row of rows) {
    const symbols = exported.get(row.entry);
    if (!symbols) {
      problems.push(`row "${row.task}": ${row.entry} is not an export path of deno.json`);
      continue;
    }
    const names = listed.get(row.entry) ?? new Set<string>();
    listed.set(row.entry, names);
    for (const call of row.calls) {
      if (call.startsWith("deno ") || call.startsWith("{")) continue; // a command, a result
      const name = /^(?:new\s+)?([A-Za-z_$][\w$]*)/.exec(call)?.[1];
      if (!name) continue;
      const symbol = symbols.get(name);
      if (!symbol) problems.push(`row "${row.task}": ${name} is not exported by ${row.entry}`);
      else if (!isValue(symbol)) {
        problems.push(`row "${row.task}": ${name} is only a type (the table lists values)`);
      } else names.add(name);
    }
  }
  for (const [entry, symbols] of exported) {
    const missing = [...symbols].filter(([name, s]) => isValue(s) && !listed.get(entry)?.has(name))
      .map(([name]) => name);
    if (missing.length) problems.push(`${entry} exports, the table omits: ${missing.join(", ")}`);
  }
  assert(problems.length === 0, problems.join("\n"));
});

Deno.test("a call in the README's table has no more arguments than the function takes, and at most two positionals before an object", () => {
  const problems: string[] = [];
  for (const row of rows) {
    for (const call of row.calls) {
      const name = /^([A-Za-z_$][\w$]*)\(/.exec(call)?.[1];
      const args = argumentsOf(call);
      const fn = name ? exported.get(row.entry)?.get(name) : undefined;
      if (!name || !args || !fn?.params) continue;
      if (args.length > fn.params.length) {
        problems.push(`${call}: ${name} takes ${fn.params.length} arguments`);
      }
      const third = args[2];
      const objectLike = third === undefined || third.startsWith("{") || third === "options" ||
        third === "changes" || third === "entry";
      if ((args.length > 3 || !objectLike)) {
        problems.push(`${call}: more than two positionals before the options`);
      }
    }
  }
  assert(problems.length === 0, problems.join("\n"));
});

Deno.test("every exported function takes at most two positional arguments, then an options object", () => {
  const problems: string[] = [];
  for (const [entry, symbols] of exported) {
    for (const [name, s] of symbols) {
      const params = s.params;
      if (!params || params.length <= 2) continue;
      const third = params[2];
      const thirdName = third.name ?? third.left?.name;
      // A third parameter is allowed when it is the options object (named so, or an object
      // the caller must give: a layer, an expectation), and nothing follows it.
      const objectType = ["typeRef", "typeLiteral", "intersection", "union"].includes(
        third.tsType?.kind ?? "",
      );
      const ok = params.length === 3 &&
        (thirdName === "options" || (third.kind === "identifier" && !third.optional && objectType));
      if (!ok) {
        problems.push(`${entry} ${name}(${params.map((p) => p.name ?? p.left?.name).join(", ")})`);
      }
    }
  }
  assert(problems.length === 0, `more than two positionals:\n${problems.join("\n")}`);
});
