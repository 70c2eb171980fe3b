/// <reference lib="dom" />
/**
 * The explorer's efficiency view: dive's score and wasted bytes, the wasted paths with the
 * layers that wrote and removed them (each a link into the tree), and the equivalent
 * `lading waste --fail-below` command for CI.
 * @module
 */
import { $, el, formatBytes } from "./dom.ts";
import type { Explorer } from "./explorer.ts";
import { pathCell } from "./explorer_folders.ts";

/** Draws dive's efficiency view (computed once per image). */
export async function efficiency(x: Explorer) {
  const key = x.treeKey(-1, "upto");
  let r = x.efficiencies.get(key);
  try {
    r ??= await x.client.call({ op: "efficiency", image: x.ref });
    x.efficiencies.set(key, r);
  } catch (e) {
    x.onError(e, "Cannot compute the efficiency");
    return;
  }
  const pct = (r.efficiency * 100).toFixed(2);
  const floor = Math.floor(r.efficiency * 100) / 100;
  const cmd = `lading waste ${x.state!.image}${
    x.detail?.platforms.length ? ` --platform ${x.detail.platform}` : ""
  } --fail-below ${floor.toFixed(2)}`;
  $("eff-summary").replaceChildren(
    el(
      "div",
      { className: "stat" },
      el("strong", { id: "eff-score" }, `${pct} %`),
      el("span", {}, "efficiency"),
    ),
    el(
      "div",
      { className: "stat" },
      el("strong", { id: "eff-wasted" }, formatBytes(r.wastedBytes)),
      el("span", {}, "wasted"),
    ),
    el(
      "div",
      { className: "stat" },
      el("strong", {}, formatBytes(r.totalBytes)),
      el("span", {}, "in all layers"),
    ),
    el(
      "div",
      { className: "stat" },
      el("strong", {}, formatBytes(r.finalBytes)),
      el("span", {}, "visible at the end"),
    ),
  );
  $("eff-command").textContent = cmd;
  const body = ($("waste") as HTMLTableElement).tBodies[0];
  body.replaceChildren(...r.paths.map((p) =>
    el(
      "tr",
      { "data-path": p.path },
      pathCell(p.path, () => {
        const last = p.events.filter((e) => e.kind !== "deleted").at(-1);
        x.go({ tab: "layers", layer: last?.layer ?? 0, mode: "upto", path: p.path });
      }),
      el("td", { className: "num" }, String(p.count)),
      el("td", { className: "num" }, formatBytes(p.wasted)),
      el(
        "td",
        {},
        ...p.events.map((e) =>
          el("button", {
            type: "button",
            className: `chip small ${e.kind}`,
            "aria-label": `#${e.layer} ${
              e.kind === "added" ? "A" : e.kind === "modified" ? "M" : "D"
            }: layer ${e.layer} ${e.kind} /${p.path}`,
            onclick: () =>
              x.go({ tab: "layers", layer: e.layer, mode: "changes", path: e.via ?? p.path }),
          }, `#${e.layer} ${e.kind === "added" ? "A" : e.kind === "modified" ? "M" : "D"}`)
        ),
      ),
    )
  ));
  $("waste-empty").hidden = r.paths.length > 0;
  $("waste-more").textContent = r.pathCount > r.paths.length
    ? `${r.pathCount - r.paths.length} more paths waste bytes.`
    : "";
  x.drawn("efficiency");
}
