/**
 * Type-checks every browser-compatible file (those starting with
 * `// This module is browser compatible.`) against DOM libs only, without Deno types.
 * Run by `deno task check`.
 */
const root = new URL("..", import.meta.url).pathname;
const files: string[] = [];
async function scan(dir: string) {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory && !["node_modules", "dist", ".git"].includes(e.name)) await scan(p);
    else if (e.isFile && p.endsWith(".ts")) {
      const head = (await Deno.readTextFile(p)).slice(0, 200);
      if (head.startsWith("// This module is browser compatible.")) files.push(p);
    }
  }
}
await scan(`${root}src`);
files.push(`${root}mod.ts`);
const config = {
  compilerOptions: { lib: ["dom", "dom.iterable", "dom.asynciterable", "esnext"], strict: true },
  imports: JSON.parse(await Deno.readTextFile(`${root}deno.json`)).imports,
};
const tmp = await Deno.makeTempFile({ suffix: ".json" });
await Deno.writeTextFile(tmp, JSON.stringify(config));
const out = await new Deno.Command(Deno.execPath(), {
  args: ["check", "--config", tmp, ...files],
  cwd: root,
}).output();
await Deno.remove(tmp);
const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
if (!out.success) {
  console.error(text);
  console.error(`browser type check failed (${files.length} files, DOM libs only)`);
  Deno.exit(1);
}
console.log(`browser type check ok: ${files.length} files against DOM libs only`);
