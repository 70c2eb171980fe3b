/// <reference lib="dom" />
/**
 * The explorer's file viewer: text with line numbers, a hex view for binaries, image
 * preview, symlinks to follow, download, and the provenance of the path (which layers
 * added, changed or removed it).
 * @module
 */
import { $, download, el, formatBytes } from "./dom.ts";
import type { ExploreNode, ProvenanceEvent } from "../src/web/explore.ts";
import type { Explorer } from "./explorer.ts";
import { modeText } from "./explorer_folders.ts";
import { highlightLine, languageOf } from "../src/web/highlight.ts";

/** Hides the file viewer. */
export function clearViewer(x: Explorer) {
  x.previewing = undefined;
  $("viewer").hidden = true;
  $("viewer-body").replaceChildren();
  $("viewer-provenance").replaceChildren();
}

/** Shows a file: preview (text, hex or image), actions, provenance. */
export async function viewFile(x: Explorer, n: ExploreNode, layer: number) {
  const key = `${layer}:${x.state!.mode}:${n.path}`;
  if (x.previewing === key) return;
  x.previewing = key;
  $("viewer").hidden = false;
  $("viewer-name").textContent = `/${n.path}`;
  const info = n.mark === "D"
    ? `deleted in layer #${layer}: removes ${formatBytes(n.removed?.bytes ?? n.size)} (${
      n.removed?.files ?? 0
    } file${n.removed?.files === 1 ? "" : "s"})`
    : `${n.type}, ${formatBytes(n.size)}, ${modeText(n.mode, n.type)}, uid ${n.uid} gid ${n.gid}` +
      (n.layer !== undefined ? `, written by layer #${n.layer}` : "");
  $("viewer-info").textContent = info;
  const body = $("viewer-body");
  const actions = $("viewer-actions");
  actions.replaceChildren();
  body.replaceChildren();
  if (n.linkname !== undefined) {
    actions.append(el("button", {
      type: "button",
      onclick: async () => {
        try {
          const target = await x.client.call({
            op: "resolve",
            image: x.ref,
            path: n.path,
            layer,
          });
          x.go({ path: target.path });
        } catch (e) {
          x.onError(e, `Cannot follow /${n.path}`);
        }
      },
    }, `Follow link → ${n.linkname}`));
  }
  provenance(x, n.path);
  if (!n.content || n.mark === "D") return;
  actions.append(el("button", {
    type: "button",
    onclick: async () => {
      try {
        const r = await x.client.call({ op: "file", image: x.ref, ref: n.content! });
        download(
          new Blob([r.bytes as Uint8Array<ArrayBuffer>]),
          n.path.split("/").pop() || "file",
        );
      } catch (e) {
        x.onError(e, `Cannot download /${n.path}`);
      }
    },
  }, "Download"));
  body.append(el("p", { className: "hint" }, "Reading…"));
  try {
    const max = 256 * 1024;
    const r = await x.client.call({ op: "file", image: x.ref, ref: n.content, max });
    if (x.previewing !== key) return;
    const kind = imageKind(r.bytes);
    if (kind) {
      const url = URL.createObjectURL(
        new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: kind }),
      );
      body.replaceChildren(
        el("img", { src: url, alt: `preview of /${n.path}`, className: "preview-img" }),
      );
    } else if (r.text) {
      body.replaceChildren(textView(new TextDecoder().decode(r.bytes), n.path));
    } else {
      body.replaceChildren(hexView(r.bytes.subarray(0, 64 * 1024), n.path));
    }
    if (r.truncated) {
      body.append(
        el("p", { className: "hint" }, `Preview cut at ${formatBytes(max)}; use Download.`),
      );
    }
  } catch (e) {
    body.replaceChildren();
    x.onError(e, `Cannot read /${n.path}`);
  }
}

/** Draws which layers added, changed or removed a path. */
export async function provenance(x: Explorer, path: string) {
  const box = $("viewer-provenance");
  try {
    const p = await x.client.call({ op: "provenance", image: x.ref, path });
    if (x.state?.path !== path) return;
    box.replaceChildren(
      el("h4", {}, `Provenance of /${path}`),
      p.events.length
        ? el("ol", { className: "plain events" }, ...p.events.map((e) => eventItem(x, e)))
        : el("p", { className: "hint" }, "No layer changed this path."),
    );
  } catch (e) {
    x.onError(e, `Cannot trace /${path}`);
  }
}

/** One provenance event, with a link to the layer. */
export function eventItem(x: Explorer, e: ProvenanceEvent) {
  const step = x.layers!.layers[e.layer];
  const cmd = x.layers!.steps.find((s) => s.layer === e.layer)?.createdBy;
  return el(
    "li",
    {},
    el("button", {
      type: "button",
      "aria-label": `#${e.layer}: layer ${e.layer} ${e.kind}`,
      onclick: () => x.go({ tab: "layers", layer: e.layer, mode: "changes", path: e.via ?? "" }),
    }, `#${e.layer}`),
    ` ${e.kind}${e.via ? ` (with /${e.via})` : ""}${
      e.kind !== "deleted" && e.type === "file" ? `, ${formatBytes(e.size)}` : ""
    }${step ? "" : ""}`,
    cmd ? el("code", { className: "small command" }, ` ${cmd}`) : "",
  );
}

/** The MIME type of an image the browser can show, from its first bytes. */
function imageKind(b: Uint8Array): string | undefined {
  const starts = (...sig: number[]) => sig.every((v, i) => b[i] === v);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && b[8] === 0x57 && b[9] === 0x45) return "image/webp";
  return undefined;
}

/** Text with line numbers, highlighted when the viewer knows the language. */
function textView(text: string, path: string): HTMLElement {
  const lines = text.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const width = String(lines.length).length;
  const language = languageOf(path, lines[0] ?? "");
  const pre = el("pre", { className: "code", tabIndex: 0, "aria-label": `contents of /${path}` });
  if (language) pre.dataset.language = language;
  const frag = document.createDocumentFragment();
  lines.forEach((line, i) => {
    frag.append(
      el("span", { className: "ln", "aria-hidden": "true" }, String(i + 1).padStart(width, " ")),
    );
    if (language) {
      for (const [cls, part] of highlightLine(line, language)) {
        frag.append(cls ? el("span", { className: `tok-${cls}` }, part) : part);
      }
      frag.append("\n");
    } else frag.append(line + "\n");
  });
  pre.append(frag);
  return pre;
}

function hexView(bytes: Uint8Array, path: string): HTMLElement {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = [...row].map((v) => v.toString(16).padStart(2, "0")).join(" ").padEnd(47, " ");
    const ascii = [...row].map((v) => (v >= 0x20 && v < 0x7f ? String.fromCharCode(v) : ".")).join(
      "",
    );
    out.push(`${i.toString(16).padStart(8, "0")}  ${hex}  ${ascii}`);
  }
  return el(
    "pre",
    { className: "code hex", tabIndex: 0, "aria-label": `hex view of /${path}` },
    out.join("\n"),
  );
}
