/// <reference lib="dom" />
/**
 * The explorer's search (a path or glob across all layers) and security glance
 * (setuid/setgid and world-writable paths, the package list from the image's database).
 * @module
 */
import { $, el, formatBytes } from "./dom.ts";
import type { Explorer } from "./explorer.ts";
import { modeText, pathCell } from "./explorer_folders.ts";

/** Runs the search in the URL and draws the hits. */
export async function search(x: Explorer) {
  const q = x.state!.q ?? "";
  const input = $<HTMLInputElement>("search-q");
  if (document.activeElement !== input) input.value = q;
  const body = ($("search-results") as HTMLTableElement).tBodies[0];
  if (!q) {
    body.replaceChildren();
    $("search-count").textContent = "Type a path or a glob (* ? ** [ ]), then Search.";
    return;
  }
  try {
    const r = await x.client.call({ op: "search", image: x.ref, query: q });
    $("search-count").textContent = `${r.total} match${r.total === 1 ? "" : "es"} in all layers${
      r.total > r.hits.length ? ` (first ${r.hits.length} shown)` : ""
    }`;
    body.replaceChildren(...r.hits.map((h) =>
      el(
        "tr",
        { "data-path": h.path, "data-layer": String(h.layer) },
        pathCell(h.path, () =>
          x.go({ tab: "layers", layer: h.layer, mode: "changes", path: h.path })),
        el("td", { className: "num" }, `#${h.layer}`),
        el("td", {}, h.whiteout ? (h.whiteout === "opaque" ? "opaque dir" : "whiteout") : h.type),
        el(
          "td",
          { className: "num" },
          h.type === "file" && !h.whiteout ? formatBytes(h.size) : "",
        ),
        el("td", {}, h.present ? "present" : "gone at the end"),
      )
    ));
  } catch (e) {
    x.onError(e, "Cannot search");
  }
}

/** Draws the security glance. */
export async function security(x: Explorer) {
  try {
    const r = await x.client.call({ op: "security", image: x.ref });
    ($("flagged") as HTMLTableElement).tBodies[0].replaceChildren(...r.flagged.map((p) =>
      el(
        "tr",
        { "data-path": p.path },
        pathCell(
          p.path,
          () => x.go({ tab: "layers", layer: undefined, mode: "upto", path: p.path }),
        ),
        el("td", {}, p.flags.join(", ")),
        el("td", { className: "mono small" }, modeText(p.mode, p.type)),
        el("td", {}, `${p.uid}:${p.gid}`),
        el("td", { className: "num" }, `#${p.layer}`),
      )
    ));
    $("flagged-empty").hidden = r.flagged.length > 0;
    const pk = r.packages;
    $("packages-source").textContent = pk
      ? `${pk.packages.length} packages from /${pk.source} (${pk.kind})`
      : "No dpkg status or apk installed database in this image.";
    ($("packages") as HTMLTableElement).tBodies[0].replaceChildren(
      ...(pk?.packages ?? []).map((p) =>
        el(
          "tr",
          {},
          el("td", {}, p.name),
          el("td", {}, p.version),
          el("td", {}, p.arch ?? ""),
          el("td", { className: "num" }, p.size !== undefined ? formatBytes(p.size) : ""),
        )
      ),
    );
  } catch (e) {
    x.onError(e, "Cannot read the security glance");
  }
}
