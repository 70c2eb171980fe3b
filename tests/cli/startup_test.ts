/**
 * Start-up of the commands people run most (`images ls`, `images inspect`, `--version`;
 * the registry commands in tests/registry/e2e_pull_push_test.ts): they must not load
 * Node's compatibility layer, which costs tens of milliseconds per process in Deno 2.9.
 * Speed itself is measured in bench/registry.ts, not here.
 * @module
 */
import { assertEquals } from "../assert.ts";
import { runProbed } from "./_startup_probe.ts";
import { withDemo } from "./_run.ts";
import { runCli } from "../export/_support.ts";

Deno.test("images ls, images inspect and --version touch none of Node's compatibility globals (process, setTimeout, Buffer, ...)", async () => {
  await withDemo(async ({ store, archive }) => {
    const imported = await runCli(["import", archive], { store });
    assertEquals(imported.code, 0, imported.stderr);
    const env = { LADING_STORE: store, HOME: "/nonexistent-home" };
    for (
      const args of [
        ["--version"],
        ["images", "ls"],
        ["images", "ls", "--json"],
        ["images", "inspect", "example.com/demo:1"],
      ]
    ) {
      const r = await runProbed(args, { env });
      assertEquals(r.code, 0, `lading ${args.join(" ")}: ${r.stderr}`);
      assertEquals(r.touched, [], `lading ${args.join(" ")} touched Node globals`);
    }
  });
});

Deno.test("the registry and image commands import no node: module (statically, from cli.ts down)", async () => {
  for (const file of ["cli.ts", "src/cli/pull.ts", "src/cli/push.ts", "src/cli/images.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", file],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      roots: string[];
      modules: {
        specifier: string;
        dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
      }[];
    };
    const modules = new Map(info.modules.map((m) => [m.specifier, m]));
    // Static edges only: a dynamic import() runs where it is needed.
    const reached = new Set<string>();
    const from = new Map<string, string>();
    const todo = [...info.roots];
    while (todo.length) {
      const s = todo.pop()!;
      if (reached.has(s)) continue;
      reached.add(s);
      for (const d of modules.get(s)?.dependencies ?? []) {
        const target = d.code?.specifier;
        if (d.isDynamic || !target || reached.has(target)) continue;
        from.set(target, s);
        todo.push(target);
      }
    }
    const node = [...reached].filter((s) => s.startsWith("node:"));
    assertEquals(
      node.map((s) => `${s} (from ${from.get(s)})`),
      [],
      `${file} loads Node modules at start-up`,
    );
  }
});
