import { highlightLine, type Language, languageOf } from "../../src/web/highlight.ts";
import { assertEquals } from "../assert.ts";

/** The classed pieces of a line (plain text left out), after checking nothing is lost. */
function tokens(line: string, language: Language): string[] {
  const segments = highlightLine(line, language);
  assertEquals(segments.map(([, t]) => t).join(""), line);
  return segments.filter(([c]) => c !== "").map(([c, t]) => `${c}:${t}`);
}

Deno.test("languageOf() knows scripts, Dockerfiles, JSON, YAML and configuration files", () => {
  assertEquals(languageOf("usr/local/bin/entrypoint", "#!/bin/sh"), "shell");
  assertEquals(languageOf("docker-entrypoint.sh", ""), "shell");
  assertEquals(languageOf("root/.bashrc", ""), "shell");
  assertEquals(languageOf("app/Dockerfile", "FROM x"), "dockerfile");
  assertEquals(languageOf("app/package.json", "{"), "json");
  assertEquals(languageOf("etc/app/config.yml", "a: 1"), "yaml");
  assertEquals(languageOf("etc/nginx/nginx.conf", ""), "conf");
  assertEquals(languageOf("etc/passwd", "root:x:0:0"), "conf");
  assertEquals(languageOf("usr/share/doc/readme.txt", "hello"), undefined);
  assertEquals(languageOf("bin/busybox", "\x7fELF"), undefined);
});

Deno.test("shell: comments, strings, variables and keywords, never inside a word", () => {
  assertEquals(tokens('if [ -n "$HOME" ]; then echo ${A:-x} # done', "shell"), [
    "kw:if",
    'str:"$HOME"',
    "kw:then",
    "var:${A:-x}",
    "com:# done",
  ]);
  // "done" inside a word, a # inside a word and an apostrophe string.
  assertEquals(tokens("undone a#b 'it''s'", "shell"), ["str:'it''s'"]);
});

Deno.test("JSON: keys apart from string values, literals and numbers", () => {
  assertEquals(tokens('{"name": "app", "n": -1.5e3, "ok": true, "x": null}', "json"), [
    'key:"name"',
    'str:"app"',
    'key:"n"',
    "num:-1.5e3",
    'key:"ok"',
    "kw:true",
    'key:"x"',
    "kw:null",
  ]);
  assertEquals(tokens('"a \\" b": "c"', "json"), ['key:"a \\" b"', 'str:"c"']);
});

Deno.test("YAML: keys (list items too), comments, quoted strings, booleans", () => {
  assertEquals(tokens("  image: 'nginx:1' # pinned", "yaml"), [
    "key:  image",
    "str:'nginx:1'",
    "com:# pinned",
  ]);
  assertEquals(tokens("- enabled: yes", "yaml"), ["key:- enabled", "kw:yes"]);
  assertEquals(tokens("# all of it", "yaml"), ["com:# all of it"]);
});

Deno.test("Dockerfile: instructions at the start of a line, stage names, variables", () => {
  assertEquals(tokens("FROM alpine:3 AS build", "dockerfile"), ["kw:FROM", "kw:AS"]);
  assertEquals(tokens('RUN echo "$PATH" && from', "dockerfile"), ["kw:RUN", 'str:"$PATH"']);
  assertEquals(tokens("  # comment", "dockerfile"), ["com:  # comment"]);
});

Deno.test("conf: sections, keys, comments, values", () => {
  assertEquals(tokens("[server]", "conf"), ["key:[server]"]);
  assertEquals(tokens("listen = 8080 # port", "conf"), ["key:listen", "num:8080", "com:# port"]);
  assertEquals(tokens("; off", "conf"), ["com:; off"]);
  assertEquals(tokens("worker_processes auto;", "conf"), ["key:worker_processes"]);
});
