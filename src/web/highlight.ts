// This module is browser compatible.
/**
 * A small syntax highlighter for the page's file viewer: a few line-based tokenizers
 * (shell, JSON, YAML, Dockerfile, conf/ini/toml) chosen from the file's path or first
 * line, each a handful of sticky regular expressions. No library: it only has to make
 * the files people open in an image (`/etc/*`, entrypoint scripts, manifests) easier to
 * read, and it never changes the text (the segments of a line join back into it).
 *
 * @example
 * ```ts
 * import { highlightLine, languageOf } from "./highlight.ts";
 * const lang = languageOf("etc/profile.d/app.sh", "");
 * console.log(lang); // shell
 * console.log(highlightLine("export A=1 # set", lang!));
 * // [ [ "kw", "export" ], [ "", " A=1 " ], [ "com", "# set" ] ]
 * ```
 * @module
 */

/** A language the viewer highlights. */
export type Language = "shell" | "json" | "yaml" | "dockerfile" | "conf";

/** A token class: keyword, string, comment, number, key (or section), variable; `""` plain. */
export type TokenClass = "kw" | "str" | "com" | "num" | "key" | "var" | "";

/** A piece of a line: its class and its text. */
export type Segment = readonly [TokenClass, string];

type Rule = readonly [RegExp, TokenClass];

const STRINGS: Rule[] = [
  [/"(?:[^"\\]|\\.)*"?/y, "str"],
  [/'[^']*'?/y, "str"],
];

const SHELL_WORDS = "if|then|else|elif|fi|for|while|until|do|done|case|esac|function|in|" +
  "export|local|return|exit|set|unset|readonly|shift|exec|source|trap|break|continue";

const DOCKER_WORDS = "FROM|RUN|CMD|LABEL|MAINTAINER|EXPOSE|ENV|ADD|COPY|ENTRYPOINT|VOLUME|" +
  "USER|WORKDIR|ARG|ONBUILD|STOPSIGNAL|HEALTHCHECK|SHELL|AS";

const VARIABLE: Rule = [/\$(?:\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*|[0-9@#?*$!-])/y, "var"];
const NUMBER: Rule = [/-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/y, "num"];

/** Rules per language, tried in order at each position (the first match wins). */
const RULES: Record<Language, { start?: Rule[]; any: Rule[] }> = {
  shell: {
    any: [
      [/(?<=^|\s)#.*/y, "com"],
      ...STRINGS,
      VARIABLE,
      [new RegExp(`\\b(?:${SHELL_WORDS})\\b`, "y"), "kw"],
    ],
  },
  dockerfile: {
    start: [[/\s*#.*/y, "com"], [new RegExp(`\\s*(?:${DOCKER_WORDS})\\b`, "iy"), "kw"]],
    any: [...STRINGS, VARIABLE, [/\b(?:AS|as)\b/y, "kw"]],
  },
  json: {
    any: [
      [/"(?:[^"\\]|\\.)*"(?=\s*:)/y, "key"],
      [/"(?:[^"\\]|\\.)*"?/y, "str"],
      [/\b(?:true|false|null)\b/y, "kw"],
      NUMBER,
    ],
  },
  yaml: {
    start: [[/\s*#.*/y, "com"], [/\s*(?:- +)?[^\s#:'"][^:#]*?(?=:(?:\s|$))/y, "key"]],
    any: [
      [/(?<=\s)#.*/y, "com"],
      ...STRINGS,
      [/\b(?:true|false|null|yes|no|on|off)\b/y, "kw"],
      NUMBER,
    ],
  },
  conf: {
    start: [
      [/\s*[#;].*/y, "com"],
      [/\s*\[[^\]]*\]/y, "key"],
      [/\s*[A-Za-z0-9_.\-/]+(?=\s*[=:]|\s+\S)/y, "key"],
    ],
    any: [[/(?<=\s)#.*/y, "com"], ...STRINGS, VARIABLE, NUMBER],
  },
};

/**
 * The language of a file from its path (and first line, for scripts with a shebang), or
 * `undefined` when it is none of those the viewer knows.
 */
export function languageOf(path: string, firstLine: string): Language | undefined {
  const name = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1) : "";
  if (/^#!.*\b(?:sh|bash|dash|ash|ksh|zsh)\b/.test(firstLine)) return "shell";
  if (["sh", "bash", "zsh", "ksh", "bashrc", "profile"].includes(ext)) return "shell";
  if ([".bashrc", ".profile", "profile", "bashrc", ".bash_profile"].includes(name)) return "shell";
  if (name === "dockerfile" || name === "containerfile" || ext === "dockerfile") {
    return "dockerfile";
  }
  if (ext === "json" || name === "index.json" || name === "manifest.json") return "json";
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (["conf", "cfg", "ini", "toml", "cnf", "properties", "env", "service"].includes(ext)) {
    return "conf";
  }
  if (/^etc\/(?:[^/]+\/)*[^/.]+$/.test(path) && !/^#!/.test(firstLine)) return "conf";
  return undefined;
}

/** Splits one line into segments (their texts joined give the line back). */
export function highlightLine(line: string, language: Language): Segment[] {
  const rules = RULES[language];
  const out: [TokenClass, string][] = [];
  const push = (cls: TokenClass, text: string) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last[0] === cls) last[1] += text;
    else out.push([cls, text]);
  };
  let at = 0;
  const match = (rule: Rule): boolean => {
    rule[0].lastIndex = at;
    const m = rule[0].exec(line);
    if (!m || m[0].length === 0) return false;
    push(rule[1], m[0]);
    at += m[0].length;
    return true;
  };
  for (const rule of rules.start ?? []) if (match(rule)) break;
  while (at < line.length) {
    if (rules.any.some(match)) continue;
    // Plain text: a whole word (a keyword is never found inside one), else one character.
    const word = /^\w+/.exec(line.slice(at, at + 256));
    const n = word ? word[0].length : 1;
    push("", line.slice(at, at + n));
    at += n;
  }
  return out;
}
