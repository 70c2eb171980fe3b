/**
 * The doc examples of `@lading/oci/opfs` need a browser (OPFS, Web Locks, sync access
 * handles), so `deno test --doc` skips them (` ```ts ignore `). Here each one runs in
 * headless Chromium, in a dedicated worker as the module documentation says: its
 * `@lading/oci` imports point at this checkout, it is bundled with esbuild, and it
 * passes when it runs to its end without throwing. Its console output is shown.
 * @module
 */
import { bundle, stopBundler } from "../../web-demo/build.ts";
import { browserTestsEnabled, launchChromium, serveDir, started } from "./browser.ts";
import { assert } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

interface Example {
  /** `symbol (file:line)` */
  readonly label: string;
  readonly code: string;
}

interface Outcome {
  ok: boolean;
  error?: string;
  logs: string[];
}

/** Every ` ```ts ignore ` example of the OPFS entry point (module doc and symbols). */
async function opfsExamples(): Promise<Example[]> {
  const entry = config.exports["./opfs"] as string;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const node = doc.nodes[new URL(entry, `file://${ROOT}`).href];
  type Tag = { kind: string; doc?: string };
  const found: Example[] = [];
  const take = (label: string, tags: Tag[] = []) => {
    for (const t of tags) {
      const m = t.kind === "example" && /^```ts ignore\n([\s\S]*?)```/.exec(t.doc ?? "");
      if (m) found.push({ label, code: m[1] });
    }
  };
  take(`module ${entry}`, node.module_doc?.tags);
  for (const s of node.symbols) {
    for (const d of s.declarations) {
      const where = `${d.location.filename.replace(`file://${ROOT}`, "")}:${d.location.line}`;
      take(`${s.name} (${where})`, d.jsDoc?.tags);
    }
  }
  return found;
}

/** The example as a module exporting `run()`: imports stay on top, the rest is the body. */
function asModule(code: string): string {
  const imports: string[] = [];
  const body: string[] = [];
  let open = false;
  for (const line of code.split("\n")) {
    if (open || /^import\s/.test(line)) {
      imports.push(line);
      open = !/from\s+"[^"]+";?\s*$/.test(line) && !/^import\s+"[^"]+";?\s*$/.test(line);
    } else body.push(line);
  }
  const local = Object.entries(config.imports as Record<string, string>)
    .filter(([k]) => k === "@lading/oci" || k.startsWith("@lading/oci/"));
  const resolved = imports.join("\n").replace(/from\s+"([^"]+)"/g, (all, spec: string) => {
    const hit = local.find(([k]) => k === spec);
    return hit ? `from "${ROOT}${hit[1].replace(/^\.\//, "")}"` : all;
  });
  return `${resolved}\nexport async function run(): Promise<void> {\n${body.join("\n")}\n}\n`;
}

const WORKER_ENTRY = (n: number) => `
import { run } from "./example_${n}.ts";
const logs: string[] = [];
console.log = (...args: unknown[]) => void logs.push(args.map(String).join(" "));
try {
  await run();
  postMessage({ ok: true, logs });
} catch (e) {
  postMessage({ ok: false, logs, error: e instanceof Error ? \`\${e.name}: \${e.message}\\n\${e.stack}\` : String(e) });
}
`;

const WRITER_ENTRY = `
import { serveOpfsWriter } from "${ROOT}src/store/opfs.ts";
serveOpfsWriter(self as never);
`;

const PAGE = `
globalThis.__run = (n) => new Promise((resolve) => {
  const w = new Worker(\`./example_\${n}_entry.js\`, { type: "module" });
  w.onmessage = (e) => { resolve(e.data); w.terminate(); };
  w.onerror = (e) => { resolve({ ok: false, logs: [], error: e.message }); w.terminate(); };
});
globalThis.__ready = true;
`;

if (browserTestsEnabled("the OPFS doc examples in Chromium")) {
  const examples = await opfsExamples();
  const src = await Deno.makeTempDir({ prefix: "lading-opfs-examples-src-" });
  const out = await Deno.makeTempDir({ prefix: "lading-opfs-examples-" });
  const outcomes: Outcome[] = [];
  try {
    const entryPoints: Record<string, string> = { writer: `${src}/writer.ts` };
    await Deno.writeTextFile(`${src}/writer.ts`, WRITER_ENTRY);
    for (const [n, e] of examples.entries()) {
      await Deno.writeTextFile(`${src}/example_${n}.ts`, asModule(e.code));
      await Deno.writeTextFile(`${src}/example_${n}_entry.ts`, WORKER_ENTRY(n));
      entryPoints[`example_${n}_entry`] = `${src}/example_${n}_entry.ts`;
    }
    await bundle({ entryPoints, outdir: out });
    await stopBundler();
    await Deno.writeTextFile(`${out}/page.js`, PAGE);
    await Deno.writeTextFile(
      `${out}/index.html`,
      `<!doctype html><title>opfs examples</title><script type="module" src="page.js"></script>`,
    );
    const server = serveDir(out);
    const url = await started(server);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (globalThis as { __ready?: boolean }).__ready === true);
      for (const n of examples.keys()) {
        outcomes.push(
          await page.evaluate(
            (i) => (globalThis as unknown as { __run(n: number): Promise<Outcome> }).__run(i),
            n,
          ),
        );
      }
    } finally {
      await browser.close();
      await server.close();
    }
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }

  Deno.test("the OPFS entry point has browser examples, one per public function and class", () => {
    assert(examples.length >= 6, `only ${examples.length} examples found`);
  });
  for (const [n, e] of examples.entries()) {
    Deno.test(`OPFS example of ${e.label} runs in a Chromium worker`, () => {
      const o = outcomes[n];
      if (o?.logs.length) console.log(o.logs.join("\n"));
      if (!o?.ok) throw new Error(o?.error ?? "not run");
    });
  }
}
