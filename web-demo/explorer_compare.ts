/// <reference lib="dom" />
/**
 * The explorer's comparison of two images of the store or opened archives: files added,
 * removed and changed, config differences, shared and distinct layers.
 * @module
 */
import { $, el, formatBytes, shortDigestText } from "./dom.ts";
import type { ComparedLayer } from "../src/web/compare.ts";
import type { Explorer } from "./explorer.ts";

/** Fills the list of images to compare with (every other image of the page). */
export function renderCompareChoices(x: Explorer) {
  const select = $<HTMLSelectElement>("compare-with");
  const current = select.value;
  const choices = x.compareChoices().filter((c) =>
    !(c.view === x.state!.view && c.name === x.state!.image)
  );
  select.replaceChildren(
    ...choices.map((c) => el("option", { value: JSON.stringify([c.view, c.name]) }, c.label)),
  );
  if (current) select.value = current;
  $<HTMLButtonElement>("compare-run").disabled = choices.length === 0;
  $("compare-hint").textContent = choices.length
    ? ""
    : "Import or open a second image to compare with.";
}

/** Compares the image with the chosen one and draws the result. */
export async function compare(x: Explorer) {
  const value = $<HTMLSelectElement>("compare-with").value;
  if (!value) return;
  const [view, name] = JSON.parse(value) as [string, string];
  const out = $("compare-result");
  out.replaceChildren(el("p", { className: "hint" }, "Reading both images…"));
  try {
    const r = await x.client.call({ op: "compare", a: x.ref, b: { view, name } });
    const row = (cells: (string | Node)[]) => el("tr", {}, ...cells.map((c) => el("td", {}, c)));
    const layerRow = (l: ComparedLayer, where: string) =>
      row([
        el("code", { title: l.digest }, shortDigestText(l.digest)),
        where,
        formatBytes(l.size),
        l.createdBy ?? "",
      ]);
    const table = (caption: string, head: string[], rows: HTMLElement[], id: string) =>
      el(
        "div",
        { className: "table-wrap" },
        el(
          "table",
          { id },
          el("caption", {}, caption),
          el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, ...rows),
        ),
      );
    out.replaceChildren(
      el(
        "p",
        { id: "compare-counts" },
        `${
          x.state!.image
        } → ${name}: ${r.counts.added} added, ${r.counts.removed} removed, ${r.counts.changed} changed; ${r.shared.length} shared layer${
          r.shared.length === 1 ? "" : "s"
        }, ${r.onlyA.length} only in the first, ${r.onlyB.length} only in the second.`,
      ),
      table(
        "Config differences",
        ["Field", "First", "Second"],
        r.config.map((c) => row([c.field, c.before ?? "—", c.after ?? "—"])),
        "compare-config",
      ),
      table(
        "Layers",
        ["Layer", "Where", "Size", "Created by"],
        [
          ...r.shared.map((l) => layerRow(l, `shared (#${l.a} / #${l.b})`)),
          ...r.onlyA.map((l) => layerRow(l, `only first (#${l.a})`)),
          ...r.onlyB.map((l) => layerRow(l, `only second (#${l.b})`)),
        ],
        "compare-layers",
      ),
      table(
        "Files",
        ["", "Path", "Type", "First", "Second", "What"],
        r.files.map((d) =>
          el(
            "tr",
            { "data-path": d.path, "data-kind": d.kind },
            el(
              "td",
              { className: "mark" },
              el("span", {
                className: `mark-${d.kind === "added" ? "A" : d.kind === "removed" ? "D" : "M"}`,
              }, d.kind === "added" ? "A" : d.kind === "removed" ? "D" : "M"),
            ),
            el("td", { className: "name-cell" }, `/${d.path}`),
            el("td", {}, d.type),
            el("td", { className: "num" }, d.before !== undefined ? formatBytes(d.before) : ""),
            el("td", { className: "num" }, d.after !== undefined ? formatBytes(d.after) : ""),
            el("td", { className: "small" }, (d.what ?? []).join(", ")),
          )
        ),
        "compare-files",
      ),
    );
  } catch (e) {
    out.replaceChildren();
    x.onError(e, "Cannot compare");
  }
}
