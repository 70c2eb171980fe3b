/**
 * The README's "Every command and flag" section, made from the command table
 * (`src/cli/commands.ts`) and each command's flags. `deno task readme` rewrites the section;
 * `tests/cli/readme_test.ts` fails when the README differs from what this makes.
 * @module
 */
import { commands } from "../../src/cli/commands.ts";
import { type FlagDef, GLOBAL_FLAGS, JSON_FLAG, QUIET_FLAG } from "../../src/cli/common.ts";
import { usageLine } from "../../src/cli/help.ts";

/** The README heading the section starts at, and the one after it. */
export const SECTION_START = "### Every command and flag";
export const SECTION_END = "## The library";

const README = new URL("../../README.md", import.meta.url);

function cell(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll("|", "\\|");
}

function label(f: FlagDef): string {
  const long = `--${f.name}${f.kind && f.kind !== "boolean" ? ` ${f.value ?? "VALUE"}` : ""}`;
  return `\`${cell(f.short ? `-${f.short}, ${long}` : long)}\``;
}

function flagTable(head: string, flags: readonly FlagDef[]): string[] {
  return [
    `| ${head} | |`,
    "| --- | --- |",
    ...flags.map((f) =>
      `| ${label(f)} | ${cell(f.help + (f.kind === "multiple" ? " (repeatable)" : ""))} |`
    ),
  ];
}

function sentence(summary: string): string {
  return summary[0].toUpperCase() + summary.slice(1) + ".";
}

/** The section as markdown, before `deno fmt`. */
export async function renderReference(): Promise<string> {
  const out = [
    SECTION_START,
    "",
    "Made from the command table (`src/cli/commands.ts`) by `deno task readme`;",
    "`tests/cli/readme_test.ts` fails when this section differs from it. `--json` and `-q` are",
    "taken by every command before or after its words (`--json` is refused by `cat`, `flatten`,",
    "`content get` and `completions`, whose output is raw bytes or a script).",
    "",
    ...flagTable("global flag", [...GLOBAL_FLAGS, JSON_FLAG, QUIET_FLAG]),
  ];
  for (const entry of commands) {
    const c = await entry.load();
    out.push("", `#### \`lading ${c.path.join(" ")}\``, "", sentence(c.summary), "");
    out.push("```", usageLine(c), "```");
    if (c.flags.length) out.push("", ...flagTable("flag", c.flags));
    out.push("", c.examples.length > 1 ? "Examples:" : "Example:", "", "```sh");
    out.push(...c.examples, "```");
  }
  return out.join("\n") + "\n";
}

/** Formats markdown as `deno fmt` does for the README. */
export async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "md", "--line-width", "100", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** The section as it is in the README now. */
export async function readmeSection(): Promise<{ before: string; section: string; after: string }> {
  const text = await Deno.readTextFile(README);
  const at = text.indexOf(SECTION_START);
  const end = text.indexOf(SECTION_END, at);
  if (at < 0 || end < 0) throw new Error(`README.md lacks "${SECTION_START}"`);
  return { before: text.slice(0, at), section: text.slice(at, end), after: text.slice(end) };
}

if (import.meta.main) {
  const { before, after } = await readmeSection();
  const section = await formatMarkdown(await renderReference());
  await Deno.writeTextFile(README, `${before}${section}\n${after}`);
  console.log("README.md: the command reference is up to date");
}
