/// <reference lib="dom" />
/**
 * The explorer's sizes view: the largest files and a treemap of the merged filesystem
 * (click a folder to zoom in; the biggest entries also as buttons for keyboards and
 * screen readers).
 * @module
 */
import { $, el, formatBytes } from "./dom.ts";
import type { Explorer } from "./explorer.ts";
import type { Folders } from "./explorer_folders.ts";
import { squarify } from "./treemap.ts";

/** Draws the largest files and the treemap of the merged filesystem. */
export async function sizes(x: Explorer) {
  let t;
  try {
    t = await x.tree(x.lastLayer, "upto");
  } catch (e) {
    x.onError(e, "Cannot read the filesystem");
    return;
  }
  const f = t.folders;
  const files = t.nodes.filter((n) => n.type === "file").sort((a, b) => b.size - a.size)
    .slice(0, 25);
  $("largest").replaceChildren(...files.map((n) =>
    el(
      "li",
      {},
      el("button", {
        type: "button",
        className: "tree-name",
        onclick: () => x.go({ tab: "layers", layer: undefined, mode: "upto", path: n.path }),
      }, `/${n.path}`),
      el("span", { className: "num" }, ` ${formatBytes(n.size)}`),
    )
  ));
  drawTreemap(x, f);
  x.drawn("sizes");
}

/** The treemap of folder `root` as an SVG (kept: showing it again is instant). */
export function buildTreemap(
  x: Explorer,
  f: Folders,
  root: string,
  W: number,
  H: number,
): SVGSVGElement {
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", "100%");
  svg.setAttribute("role", "img");
  svg.setAttribute(
    "aria-label",
    `Treemap of /${root} by size: ${formatBytes(f.totals.get(root) ?? 0)}`,
  );
  const colors = [
    "#8ecae6",
    "#ffb703",
    "#90be6d",
    "#f28482",
    "#b5838d",
    "#84a59d",
    "#cdb4db",
    "#f4a261",
  ];
  let drawn = 0;
  const draw = (
    dir: string,
    left: number,
    top: number,
    w: number,
    h: number,
    depth: number,
    color: number,
  ) => {
    const kids = (f.children.get(dir) ?? [])
      .map((n) => ({
        n,
        v: n.type === "directory" ? f.totals.get(n.path) ?? 0 : n.type === "file" ? n.size : 0,
      }))
      .filter((k) => k.v > 0)
      .sort((a, b) => b.v - a.v);
    const rects = squarify(kids.map((k) => k.v), { x: left, y: top, w, h });
    kids.forEach(({ n, v }, i) => {
      const r = rects[i];
      if (r.w < 2 || r.h < 2 || drawn > 4000) return;
      drawn++;
      const c = depth <= 1 ? (color + i) % colors.length : color;
      const g = document.createElementNS(svgNS, "g");
      const rect = document.createElementNS(svgNS, "rect");
      rect.setAttribute("x", r.x.toFixed(1));
      rect.setAttribute("y", r.y.toFixed(1));
      rect.setAttribute("width", Math.max(0, r.w - 1).toFixed(1));
      rect.setAttribute("height", Math.max(0, r.h - 1).toFixed(1));
      rect.setAttribute("fill", colors[c]);
      rect.setAttribute("fill-opacity", String(Math.max(0.35, 1 - depth * 0.25)));
      rect.setAttribute("stroke", "#fff");
      rect.dataset.path = n.path;
      const title = document.createElementNS(svgNS, "title");
      title.textContent = `/${n.path} — ${formatBytes(v)}`;
      rect.append(title);
      g.append(rect);
      rect.addEventListener("click", () => {
        if (n.type === "directory") {
          x.treemapRoot = n.path;
          drawTreemap(x, f);
        } else x.go({ tab: "layers", layer: undefined, mode: "upto", path: n.path });
      });
      if (r.w > 60 && r.h > 16) {
        const text = document.createElementNS(svgNS, "text");
        text.setAttribute("x", (r.x + 4).toFixed(1));
        text.setAttribute("y", (r.y + 13).toFixed(1));
        text.setAttribute("font-size", "11");
        text.setAttribute("fill", "#111");
        text.setAttribute("pointer-events", "none");
        const name = n.path.slice(dir ? dir.length + 1 : 0);
        const label = `${name}${n.type === "directory" ? "/" : ""} ${formatBytes(v)}`;
        text.textContent = label.length * 6.2 > r.w
          ? label.slice(0, Math.max(1, Math.floor(r.w / 6.2) - 1)) + "…"
          : label;
        g.append(text);
      }
      svg.append(g);
      if (n.type === "directory" && depth < 3 && r.w > 24 && r.h > 30) {
        draw(n.path, r.x + 2, r.y + 16, r.w - 4, r.h - 18, depth + 1, c);
      }
    });
  };
  draw(root, 0, 0, W, H, 0, 0);
  return svg;
}

/** Shows the treemap of the current folder, with its crumbs and its biggest entries. */
export function drawTreemap(x: Explorer, f: Folders) {
  if (!f.byPath.has(x.treemapRoot) && x.treemapRoot !== "") x.treemapRoot = "";
  const root = x.treemapRoot;
  const box = $("treemap");
  const W = Math.max(300, Math.min(box.clientWidth || 1100, 1400));
  const H = Math.round(Math.min(560, W * 0.55));
  const cacheKey = `${x.treeKey(x.lastLayer, "upto")}|${root}|${W}`;
  let svg = x.svgs.get(cacheKey);
  if (!svg) {
    svg = buildTreemap(x, f, root, W, H);
    if (x.svgs.size > 8) x.svgs.delete(x.svgs.keys().next().value!);
    x.svgs.set(cacheKey, svg);
  }
  const parts = root ? root.split("/") : [];
  $("treemap-crumbs").replaceChildren(
    el("button", {
      type: "button",
      "aria-label": "treemap of the root folder",
      onclick: () => {
        x.treemapRoot = "";
        drawTreemap(x, f);
      },
    }, "/"),
    ...parts.map((p, i) =>
      el("button", {
        type: "button",
        onclick: () => {
          x.treemapRoot = parts.slice(0, i + 1).join("/");
          drawTreemap(x, f);
        },
      }, `${p}/`)
    ),
    el("span", { className: "hint" }, ` ${formatBytes(f.totals.get(root) ?? 0)}`),
  );
  box.replaceChildren(svg);
  // Keyboard and screen readers: the biggest entries of this folder as buttons.
  const kids = (f.children.get(root) ?? [])
    .map((n) => ({ n, v: n.type === "directory" ? f.totals.get(n.path) ?? 0 : n.size }))
    .filter((k) => k.v > 0).sort((a, b) => b.v - a.v).slice(0, 12);
  $("treemap-list").replaceChildren(...kids.map(({ n, v }) =>
    el(
      "li",
      {},
      el("button", {
        type: "button",
        onclick: () => {
          if (n.type === "directory") {
            x.treemapRoot = n.path;
            drawTreemap(x, f);
          } else x.go({ tab: "layers", layer: undefined, mode: "upto", path: n.path });
        },
      }, `${n.path.slice(root ? root.length + 1 : 0)}${n.type === "directory" ? "/" : ""}`),
      ` ${formatBytes(v)}`,
    )
  ));
}
