/**
 * Help texts and shell completions, all made from the command table (commands.ts) and
 * each command's flag table: a command that registers gets its help and completions.
 * @module
 */
import { type Command, type FlagDef, GLOBAL_FLAGS } from "./common.ts";
import { commands } from "./commands.ts";

function loadAll(): Promise<Command[]> {
  return Promise.all(commands.map((c) => c.load()));
}

function flagLabel(f: FlagDef): string {
  const long = `--${f.name}${f.kind && f.kind !== "boolean" ? ` ${f.value ?? "VALUE"}` : ""}`;
  return f.short ? `-${f.short}, ${long}` : `    ${long}`;
}

function flagLines(flags: readonly FlagDef[]): string[] {
  const width = Math.max(...flags.map((f) => flagLabel(f).length));
  return flags.map((f) =>
    `  ${flagLabel(f).padEnd(width)}  ${f.help}${f.kind === "multiple" ? " (repeatable)" : ""}`
  );
}

/** The usage line of a command. */
export function usageLine(c: Command): string {
  return `lading ${c.path.join(" ")}${c.flags.length ? " [flags]" : ""}${
    c.args ? ` ${c.args}` : ""
  }`;
}

/** `lading help <command>` / `lading <command> --help`. */
export function commandHelp(c: Command): string {
  const out = [`lading ${c.path.join(" ")}: ${c.summary}`, "", "Usage:", `  ${usageLine(c)}`];
  if (c.details) out.push("", ...c.details.trimEnd().split("\n"));
  if (c.flags.length) out.push("", "Flags:", ...flagLines(c.flags));
  out.push("", "Global flags (before or after the command):", ...flagLines(GLOBAL_FLAGS));
  out.push("", "Examples:", ...c.examples.map((e) => `  ${e}`));
  return out.join("\n") + "\n";
}

/** `lading help`: every command with its summary. */
export async function mainHelp(): Promise<string> {
  const loaded = await loadAll();
  const width = Math.max(...loaded.map((c) => c.path.join(" ").length));
  return [
    "lading: OCI images without a daemon",
    "",
    "Usage:",
    "  lading [global flags] <command> [flags] [arguments]",
    "",
    "Commands:",
    ...loaded.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`),
    "",
    "Global flags (before or after the command):",
    ...flagLines(GLOBAL_FLAGS),
    "",
    "Names: an exact stored name, then the normalized reference (busybox means",
    "docker.io/library/busybox:latest), then a full digest, then a unique hex prefix of",
    "at least 12 digits of an image digest.",
    "Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted (Ctrl-C), 141 stdout",
    "closed, 143 terminated (SIGTERM).",
    "",
    "Run 'lading help <command>' or 'lading <command> --help' for a command's flags.",
    "lading --version prints the version.",
    "",
  ].join("\n");
}

/** `lading help images`: the subcommands of a group. */
export async function groupHelp(group: string): Promise<string> {
  const loaded = (await loadAll()).filter((c) => c.path[0] === group);
  const width = Math.max(...loaded.map((c) => c.path.join(" ").length));
  return [
    `lading ${group}: subcommands`,
    "",
    ...loaded.map((c) => `  lading ${c.path.join(" ").padEnd(width)}  ${c.summary}`),
    "",
    `Run 'lading ${group} <subcommand> --help' for its flags.`,
    "",
  ].join("\n");
}

function allFlags(c: Command): FlagDef[] {
  return [...c.flags, ...GLOBAL_FLAGS];
}

function flagWords(c: Command): string[] {
  return allFlags(c).flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
}

/** Global flags whose value is the next word (the scripts skip it when finding the command). */
const GLOBAL_VALUE_FLAGS = GLOBAL_FLAGS.filter((f) => f.kind && f.kind !== "boolean")
  .map((f) => `--${f.name}`);

/** Flags that take a value (after them, a file name is completed, not an image name). */
function valueFlags(c: Command): string[] {
  return allFlags(c).filter((f) => f.kind && f.kind !== "boolean")
    .flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
}

/** A fish string literal (fish expands `$` inside double quotes). */
function fishQuote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** The completion script for a shell. */
export async function completionScript(shell: string): Promise<string> {
  const loaded = await loadAll();
  const tops = [...new Set(loaded.map((c) => c.path[0]))].concat(["help", "completions"]);
  const uniqueTops = [...new Set(tops)];
  const topFlags = "--store --lock-timeout --debug --json -q --help --version";
  const groups = [...new Set(loaded.filter((c) => c.path.length > 1).map((c) => c.path[0]))];
  const subsOf = (g: string) => loaded.filter((c) => c.path[0] === g).map((c) => c.path[1]);
  if (shell === "bash") {
    const cases = loaded.map((c) =>
      `    "${c.path.join(" ")}") flags="${flagWords(c).join(" ")}"; values=" ${
        valueFlags(c).join(" ")
      } "; kind="${c.complete ?? "image"}";;`
    );
    const groupCases = groups.map((g) => `    ${g}) subs="${subsOf(g).join(" ")}";;`);
    // The words come from COMP_LINE, split at blanks only: COMP_WORDS also splits at ':'
    // (COMP_WORDBREAKS), which would cut image names such as example.com/app:1 in three.
    return `# lading completion for bash: eval "$(lading completions bash)"
_lading() {
  local line="\${COMP_LINE:0:COMP_POINT}" cur="" prev="" store="" words=() args=() i w
  read -ra args <<< "$line"
  if [[ "$line" != *[[:space:]] && \${#args[@]} -gt 0 ]]; then
    cur="\${args[\${#args[@]}-1]}"
    unset 'args[\${#args[@]}-1]'
  fi
  [ \${#args[@]} -gt 1 ] && prev="\${args[\${#args[@]}-1]}"
  for ((i = 1; i < \${#args[@]}; i++)); do
    w="\${args[i]}"
    case "$w" in
      --store) store="\${args[i+1]}"; ((i++));;
      --store=*) store="\${w#--store=}";;
${GLOBAL_VALUE_FLAGS.filter((f) => f !== "--store").map((f) => `      ${f}) ((i++));;`).join("\n")}
      -*) ;;
      *) words+=("$w");;
    esac
  done
  # After a ':' bash replaces only the part of the word behind it.
  local colon=""
  [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]] && colon="\${cur%"\${cur##*:}"}"
  if [ \${#words[@]} -eq 0 ]; then
    COMPREPLY=($(compgen -W "${uniqueTops.join(" ")} ${topFlags}" -- "$cur"))
    return
  fi
  local subs=""
  case "\${words[0]}" in
${groupCases.join("\n")}
    help) COMPREPLY=($(compgen -W "${uniqueTops.join(" ")}" -- "$cur")); return;;
    completions) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return;;
  esac
  if [ -n "$subs" ] && [ \${#words[@]} -eq 1 ]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  local key="\${words[0]}" flags="" values=" " kind="none"
  [ -n "$subs" ] && key="\${words[0]} \${words[1]}"
  case "$key" in
${cases.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ -n "$prev" && "$values" == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [ "$kind" = image ]; then
    COMPREPLY=($(compgen -W "$(lading images ls -q \${store:+--store "$store"} 2>/dev/null)" -- "$cur"))
    [ -n "$colon" ] && COMPREPLY=("\${COMPREPLY[@]#"$colon"}")
  elif [ "$kind" = file ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -F _lading lading
`;
  }
  if (shell === "zsh") {
    const lines = loaded.map((c) =>
      `    "${c.path.join(" ")}") flags=(${flagWords(c).join(" ")}); values=(${
        valueFlags(c).join(" ")
      }); kind=${c.complete ?? "image"};;`
    );
    const subs = groups.map((g) => `    ${g}) subs=(${subsOf(g).join(" ")});;`);
    return `#compdef lading
# lading completion for zsh: eval "$(lading completions zsh)" (after compinit)
_lading() {
  local -a words2 subs flags values store
  local kind=none w i
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    case $w in
      --store) store=(--store \${words[i+1]}); ((i++));;
      --store=*) store=(--store \${w#--store=});;
${GLOBAL_VALUE_FLAGS.filter((f) => f !== "--store").map((f) => `      ${f}) ((i++));;`).join("\n")}
      -*) ;;
      *) words2+=($w);;
    esac
  done
  if (( \${#words2} == 0 )); then
    compadd -- ${uniqueTops.join(" ")} ${topFlags}
    return
  fi
  case \${words2[1]} in
${subs.join("\n")}
    help) compadd -- ${uniqueTops.join(" ")}; return;;
    completions) compadd -- bash zsh fish; return;;
  esac
  if (( \${#subs} > 0 && \${#words2} == 1 )); then
    compadd -- $subs
    return
  fi
  local key=\${words2[1]}
  (( \${#subs} > 0 )) && key="\${words2[1]} \${words2[2]}"
  case $key in
${lines.join("\n")}
  esac
  if [[ \${words[CURRENT]} == -* ]]; then
    compadd -- $flags
  elif (( CURRENT > 2 && \${values[(Ie)\${words[CURRENT-1]}]} )); then
    _files
  elif [[ $kind == image ]]; then
    compadd -- \${(f)"$(lading images ls -q $store 2>/dev/null)"}
  elif [[ $kind == file ]]; then
    _files
  fi
}
compdef _lading lading
`;
  }
  if (shell === "fish") {
    const out = [
      "# lading completion for fish: lading completions fish | source",
      "complete -c lading -f",
      "# The store's image names (the --store given on the command line, if any).",
      "function __lading_images",
      "  set -l args (commandline -opc)",
      "  set -l store",
      "  for i in (seq (count $args))",
      "    if test $args[$i] = --store; and test $i -lt (count $args)",
      "      set store --store $args[(math $i + 1)]",
      "    else if string match -q -- '--store=*' $args[$i]",
      "      set store --store (string replace -- --store= '' $args[$i])",
      "    end",
      "  end",
      "  lading images ls -q $store 2>/dev/null",
      "end",
      `complete -c lading -n "__fish_use_subcommand" -a "${uniqueTops.join(" ")}"`,
    ];
    for (const g of groups) {
      const subs = subsOf(g);
      out.push(
        `complete -c lading -n "__fish_seen_subcommand_from ${g}; and not __fish_seen_subcommand_from ${
          subs.join(" ")
        }" -a "${subs.join(" ")}"`,
      );
    }
    out.push(`complete -c lading -n "__fish_seen_subcommand_from completions" -a "bash zsh fish"`);
    for (const c of loaded) {
      const cond = c.path.length > 1
        ? `__fish_seen_subcommand_from ${c.path[0]}; and __fish_seen_subcommand_from ${c.path[1]}`
        : `__fish_seen_subcommand_from ${c.path[0]}`;
      for (const f of allFlags(c)) {
        out.push(
          `complete -c lading -n "${cond}" -l ${f.name}${f.short ? ` -s ${f.short}` : ""}${
            f.kind && f.kind !== "boolean" ? " -r -F" : ""
          } -d ${fishQuote(f.help.slice(0, 80))}`,
        );
      }
      if ((c.complete ?? "image") === "image") {
        out.push(`complete -c lading -n "${cond}" -a "(__lading_images)"`);
      } else if (c.complete === "file") {
        out.push(`complete -c lading -n "${cond}" -F`);
      }
    }
    return out.join("\n") + "\n";
  }
  throw new TypeError(`unknown shell ${shell}`);
}
