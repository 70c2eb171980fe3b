/** The README describes every command and every flag of the CLI. */
import { assert } from "../assert.ts";
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
