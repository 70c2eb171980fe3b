/// <reference lib="dom" />
/**
 * The image explorer: layers with their changes (A/M/D) and the filesystem up to each
 * layer, efficiency and wasted paths, sizes (directory totals, largest files, treemap),
 * search and provenance, security glance, compare, file viewer, config and documents.
 * The worker computes (src/web/explore.ts); this module draws and keeps the state in the
 * URL (`#view=…&image=…&platform=…&tab=…&layer=…&mode=…&path=…`).
 *
 * This module holds the explorer itself, its header, config and layers view (the layer
 * list and the tree); the other views are in `explorer_*.ts`, one per concept.
 * @module
 */
import { $, el, formatBytes, isCancel, plainError, shortDigestText } from "./dom.ts";
import type { ImageDetail } from "../src/web/inspect.ts";
import type {
  EfficiencyView,
  ExploreNode,
  LayersView,
  Mark,
  TreeMode,
} from "../src/web/explore.ts";
import type { ImageRef, WorkerClient } from "../src/web/protocol.ts";
import { type Tab, TABS, type ViewState } from "./explorer_state.ts";
import {
  type Folders,
  indexFolders,
  MARK_TEXT,
  modeText,
  parentOf,
  sizeOf,
} from "./explorer_folders.ts";
import { clearViewer, viewFile } from "./explorer_viewer.ts";
import { efficiency } from "./explorer_efficiency.ts";
import { sizes } from "./explorer_sizes.ts";
import { search, security } from "./explorer_search.ts";
import { compare, renderCompareChoices } from "./explorer_compare.ts";

export { hashOf, stateFromHash, type Tab, TABS, type ViewState } from "./explorer_state.ts";

/** The explorer; one per page. */
export class Explorer {
  /** The worker that computes every view. */
  readonly client: WorkerClient;
  #onState: (s: ViewState, replace: boolean) => void;
  /** Shows an error of a view (`what` failed). */
  readonly onError: (e: unknown, what: string) => void;
  state?: ViewState;
  detail?: ImageDetail;
  layers?: LayersView;
  #trees = new Map<string, { nodes: ExploreNode[]; folders: Folders }>();
  #filters = { hideUnchanged: false, only: new Set<Mark>() };
  #sort: "name" | "size" = "name";
  /** The file the viewer shows (`layer:mode:path`). */
  previewing?: string;
  /** The folder the treemap shows. */
  treemapRoot = "";
  /** Treemaps drawn, kept: showing one again is instant. */
  svgs = new Map<string, SVGSVGElement>();
  /** Efficiency views by image. */
  efficiencies = new Map<string, EfficiencyView>();
  #gen = 0;
  #busy?: { cancel(): void };
  /** Images to compare with: filled by the page. */
  compareChoices: () => { view: string; name: string; label: string }[] = () => [];

  constructor(options: {
    client: WorkerClient;
    onState: (s: ViewState, replace: boolean) => void;
    onError: (e: unknown, what: string) => void;
  }) {
    this.client = options.client;
    this.#onState = options.onState;
    this.onError = options.onError;
    this.#wire();
  }

  get ref(): ImageRef {
    return { view: this.state!.view, name: this.state!.image, platform: this.state!.platform };
  }

  get lastLayer(): number {
    return (this.layers?.layers.length ?? 1) - 1;
  }

  /** Marks a view as drawn (tests and bench/web.ts wait for and time it). */
  drawn(tab: Tab) {
    const b = document.body.dataset;
    b.drawn = `${tab}:${(Number(b.drawn?.split(":")[1] ?? 0) + 1)}`;
    b.drawnMs = (performance.now() - Number(b.goAt ?? 0)).toFixed(1);
  }

  #started() {
    document.body.dataset.goAt = performance.now().toFixed(1);
  }

  #push(replace = false) {
    if (this.state) this.#onState({ ...this.state }, replace);
  }

  #wire() {
    const tabs = $("detail-tabs");
    tabs.replaceChildren(...TABS.map(([id, label]) =>
      el("button", {
        type: "button",
        role: "tab",
        id: `tab-${id}`,
        "aria-controls": `panel-${id}`,
        "aria-selected": "false",
        tabIndex: -1,
        onclick: () => this.go({ tab: id }),
      }, label)
    ));
    tabs.addEventListener("keydown", (e) => {
      const ids = TABS.map(([t]) => t);
      const i = ids.indexOf(this.state?.tab ?? "layers");
      const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : -2;
      if (next === -2) return;
      e.preventDefault();
      const t = ids[(next + ids.length) % ids.length];
      this.go({ tab: t });
      $(`tab-${t}`).focus();
    });
    $("platform").addEventListener("change", (e) => {
      if (!this.state) return;
      const platform = (e.target as HTMLSelectElement).value;
      this.open({ ...this.state, platform, layer: undefined, path: "" });
    });
    $("detail-close").addEventListener("click", () => this.close(true));
    for (const [id, mode] of [["mode-changes", "changes"], ["mode-upto", "upto"]] as const) {
      $(id).addEventListener("change", () => this.go({ mode, path: "" }));
    }
    $("chip-unchanged").addEventListener("click", () => {
      this.#filters.hideUnchanged = !this.#filters.hideUnchanged;
      this.#renderTree();
    });
    for (const m of ["A", "M", "D"] as const) {
      $(`chip-${m}`).addEventListener("click", () => {
        const only = this.#filters.only;
        if (only.has(m)) only.delete(m);
        else only.add(m);
        this.#renderTree();
      });
    }
    $<HTMLSelectElement>("tree-sort").addEventListener("change", (e) => {
      this.#sort = (e.target as HTMLSelectElement).value as "name" | "size";
      this.#renderTree();
    });
    $("search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.go({ q: $<HTMLInputElement>("search-q").value });
    });
    $("compare-form").addEventListener("submit", (e) => {
      e.preventDefault();
      compare(this);
    });
    $("layer-cancel").addEventListener("click", () => this.#busy?.cancel());
  }

  /** Closes the explorer. */
  close(push = false) {
    this.state = undefined;
    this.detail = undefined;
    this.layers = undefined;
    $("detail").hidden = true;
    if (push) this.#onState(undefined as unknown as ViewState, false);
  }

  /** Changes part of the state (pushes a history entry) and draws. */
  go(change: Partial<ViewState>) {
    if (!this.state) return;
    this.#started();
    const before = this.state;
    this.state = { ...before, ...change };
    if (change.layer !== undefined || change.mode !== undefined) {
      if (
        change.path === undefined && (change.layer !== before.layer || change.mode !== before.mode)
      ) {
        this.state.path = "";
      }
    }
    if (
      this.state.path !== before.path || this.state.layer !== before.layer ||
      this.state.mode !== before.mode || this.state.tab !== before.tab
    ) clearViewer(this);
    this.#push();
    this.draw();
  }

  /** Opens (or restores) a view: loads what is missing, then draws. */
  async open(s: ViewState): Promise<void> {
    this.#started();
    // A later open (another platform, Back) wins over one still loading.
    const gen = ++this.#gen;
    const sameImage = this.state && this.detail && this.state.view === s.view &&
      this.state.image === s.image && (s.platform ?? this.detail.platform) === this.detail.platform;
    if (!sameImage || this.state?.path !== s.path || this.state?.layer !== s.layer) {
      clearViewer(this);
    }
    this.state = { ...s };
    if (!sameImage) {
      this.#trees.clear();
      this.layers = undefined;
      this.detail = undefined;
      $("detail").hidden = false;
      $("detail-title").textContent = s.image;
      $("layer-status").hidden = false;
      $("layer-status-text").textContent = "Reading the image…";
      try {
        const detail = await this.client.call({
          op: "detail",
          view: s.view,
          name: s.image,
          platform: s.platform,
        });
        if (gen !== this.#gen) return;
        this.detail = detail;
        this.state.platform = this.detail.platforms.length ? this.detail.platform : undefined;
        this.#renderHeader();
        this.#renderConfig();
        $("layer-status-text").textContent = "Reading layers…";
        const bar = $<HTMLProgressElement>("layer-progress");
        bar.removeAttribute("value");
        const call = this.client.call({ op: "analyze", image: this.ref }, {
          onProgress: (p) => {
            if (p.total) {
              bar.max = p.total;
              bar.value = Math.min(p.bytes, p.total);
              $("layer-status-text").textContent = `Reading layers… ${formatBytes(p.bytes)} of ${
                formatBytes(p.total)
              }`;
            }
          },
        });
        this.#busy = call;
        const layers = await call;
        if (gen !== this.#gen) return;
        this.layers = layers;
      } catch (e) {
        if (gen !== this.#gen) return;
        $("layer-status").hidden = true;
        if (isCancel(e)) {
          $("layer-status-text").textContent = "";
          this.close(true);
          return;
        }
        this.onError(e, `Cannot inspect ${s.image}`);
        return;
      } finally {
        if (gen === this.#gen) this.#busy = undefined;
      }
      $("layer-status").hidden = true;
    }
    this.#push(true);
    this.draw();
    document.body.dataset.explorer = `${this.state.image}|${this.state.tab}`;
  }

  /** Draws the current state. */
  draw() {
    const s = this.state;
    if (!s || !this.layers) return;
    for (const [id] of TABS) {
      const on = id === s.tab;
      const b = $(`tab-${id}`);
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      $(`panel-${id}`).hidden = !on;
    }
    this.#renderLayers();
    if (s.tab === "layers") this.#loadTree();
    else if (s.tab === "efficiency") efficiency(this);
    else if (s.tab === "sizes") sizes(this);
    else if (s.tab === "search") search(this);
    else if (s.tab === "security") security(this);
    else if (s.tab === "compare") renderCompareChoices(this);
  }

  #renderHeader() {
    const d = this.detail!;
    $("detail-title").textContent = d.name;
    const select = $<HTMLSelectElement>("platform");
    const choices = d.platforms.length ? d.platforms.map((p) => p.label) : [d.platform];
    select.replaceChildren(
      ...choices.map((label) =>
        el("option", { value: label, selected: label === d.platform }, label)
      ),
    );
    select.value = d.platform;
    select.disabled = choices.length < 2;
    const digest = (label: string, value: string) =>
      el(
        "span",
        { className: "digest-item" },
        el("span", { className: "digest-label" }, label),
        el("code", { title: value, className: "digest-text" }, value),
      );
    $("detail-digest").replaceChildren(
      digest(d.platforms.length ? "Index" : "Manifest", d.digest),
      d.platforms.length ? digest(`Manifest (${d.platform})`, d.manifestDigest) : "",
    );
  }

  #renderConfig() {
    const d = this.detail!;
    const dl = $("config-summary");
    dl.replaceChildren();
    const kv = (key: string, value: string | string[] | undefined) => {
      if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) return;
      const dd = Array.isArray(value)
        ? el("dd", {}, el("ul", { className: "plain" }, ...value.map((v) => el("li", {}, v))))
        : el("dd", {}, value);
      dl.append(el("dt", {}, key), dd);
    };
    const c = d.config;
    kv("Entrypoint", c.entrypoint ? JSON.stringify(c.entrypoint) : undefined);
    kv("Cmd", c.cmd ? JSON.stringify(c.cmd) : undefined);
    kv("WorkingDir", c.workingDir);
    kv("User", c.user);
    kv("Ports", c.ports.join(", "));
    kv("Volumes", c.volumes.join(", "));
    kv("Env", [...c.env]);
    kv("Labels", Object.entries(c.labels).map(([k, v]) => `${k}=${v}`));
    kv("StopSignal", c.stopSignal);
    kv("Created", c.created);
    kv("Platform", d.platform);
    const docs: [string, string | undefined][] = [
      ["Index", d.indexJson],
      ["Manifest", d.manifestJson],
      ["Config", d.configJson],
    ];
    $("documents").replaceChildren(
      ...docs.filter(([, t]) => t !== undefined).map(([title, text]) => {
        const copy = el("button", {
          type: "button",
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(text!);
              copy.textContent = "Copied";
            } catch {
              copy.textContent = "Copy failed: select the text instead";
            }
          },
        }, `Copy ${title} JSON`);
        return el(
          "details",
          {},
          el("summary", {}, `${title} JSON`),
          el("div", { className: "row" }, copy),
          el("pre", { tabIndex: 0, "aria-label": `${title} JSON` }, text!),
        );
      }),
    );
  }

  // ----- layers -----

  #renderLayers() {
    const s = this.state!;
    const selected = s.layer ?? this.lastLayer;
    const { layers, steps } = this.layers!;
    const body = ($("layers") as HTMLTableElement).tBodies[0];
    body.replaceChildren(...steps.map((step) => {
      const l = step.layer !== undefined ? layers[step.layer] : undefined;
      const command = el("code", { className: "command" }, step.createdBy ?? "(no history)");
      if (!l) {
        return el(
          "tr",
          { className: "empty-step" },
          el("td", {}, ""),
          el("td", {}, command, el("span", { className: "tag" }, "no layer")),
          el("td", { className: "num", colSpan: 4 }, ""),
        );
      }
      const on = l.index === selected;
      return el(
        "tr",
        { "data-layer": String(l.index), className: on ? "selected" : "" },
        el(
          "td",
          {},
          el("button", {
            type: "button",
            "aria-pressed": String(on),
            "aria-label": `#${l.index}: show layer ${l.index}`,
            onclick: () => this.go({ tab: "layers", layer: l.index }),
          }, `#${l.index}`),
        ),
        el(
          "td",
          {},
          command,
          el(
            "div",
            { className: "hint small" },
            el("code", { title: l.digest }, shortDigestText(l.digest)),
            ` · +${l.added} ~${l.modified} −${l.deleted}`,
          ),
        ),
        el("td", { className: "num", "data-label": "compressed" }, formatBytes(l.compressed)),
        el(
          "td",
          { className: "num", "data-label": "uncompressed" },
          l.uncompressed !== undefined ? formatBytes(l.uncompressed) : "",
        ),
        el("td", { className: "num", "data-label": "files" }, String(l.files ?? "")),
      );
    }));
  }

  /** Trees are cached per image and platform: a late answer never lands on another image. */
  treeKey(layer: number, mode: TreeMode): string {
    const r = this.ref;
    return JSON.stringify([r.view, r.name, r.platform ?? "", layer, mode]);
  }

  /** The tree of a layer in a mode, from the worker once, then from memory. */
  async tree(layer: number, mode: TreeMode) {
    const key = this.treeKey(layer, mode);
    let t = this.#trees.get(key);
    if (!t) {
      const nodes = await this.client.call({ op: "layerTree", image: this.ref, layer, mode });
      t = { nodes, folders: indexFolders(nodes) };
      this.#trees.set(key, t);
    }
    return t;
  }

  async #loadTree() {
    const s = this.state!;
    const layer = s.layer ?? this.lastLayer;
    ($("mode-changes") as HTMLInputElement).checked = s.mode === "changes";
    ($("mode-upto") as HTMLInputElement).checked = s.mode === "upto";
    $("tree-title").textContent = s.mode === "changes"
      ? `Layer #${layer}: its changes`
      : layer === this.lastLayer
      ? `Filesystem (all ${layer + 1} layers)`
      : `Filesystem up to layer #${layer}`;
    try {
      await this.tree(layer, s.mode);
    } catch (e) {
      this.onError(e, `Cannot read layer ${layer}`);
      return;
    }
    if (this.state !== s) return;
    this.#renderTree();
    this.drawn("layers");
  }

  #folder(): string {
    const s = this.state!;
    const t = this.#trees.get(this.treeKey(s.layer ?? this.lastLayer, s.mode));
    const n = t?.folders.byPath.get(s.path);
    return n && n.type !== "directory" ? parentOf(s.path) : s.path;
  }

  #renderTree() {
    const s = this.state!;
    const layer = s.layer ?? this.lastLayer;
    const t = this.#trees.get(this.treeKey(layer, s.mode));
    if (!t) return;
    const f = t.folders;
    const folder = this.#folder();
    for (const m of ["A", "M", "D"] as const) {
      $(`chip-${m}`).setAttribute("aria-pressed", String(this.#filters.only.has(m)));
    }
    $("chip-unchanged").setAttribute("aria-pressed", String(this.#filters.hideUnchanged));
    const visible = (n: ExploreNode) => {
      const only = this.#filters.only;
      if (only.size) {
        if (n.type === "directory" && n.mark === undefined) {
          const m = f.marked.get(n.path);
          return !!m && [...m].some((x) => only.has(x));
        }
        return !!n.mark && (only.has(n.mark) ||
          (n.type === "directory" && [...(f.marked.get(n.path) ?? [])].some((x) => only.has(x))));
      }
      if (this.#filters.hideUnchanged && !n.mark) {
        return n.type === "directory" && f.marked.has(n.path);
      }
      return true;
    };
    const here = (f.children.get(folder) ?? []).filter(visible);
    here.sort(
      this.#sort === "size"
        ? (a, b) => sizeOf(f, b) - sizeOf(f, a) || (a.path < b.path ? -1 : 1)
        : (a, b) =>
          (a.type === "directory" ? 0 : 1) - (b.type === "directory" ? 0 : 1) ||
          (a.path < b.path ? -1 : 1),
    );
    const parts = folder ? folder.split("/") : [];
    $("crumbs").replaceChildren(
      el("button", {
        type: "button",
        "aria-label": "root folder",
        onclick: () => this.go({ path: "" }),
      }, "/"),
      ...parts.map((p, i) =>
        el("button", {
          type: "button",
          onclick: () => this.go({ path: parts.slice(0, i + 1).join("/") }),
        }, `${p}/`)
      ),
    );
    const rows = here.slice(0, 2000).map((n) => {
      const name = n.path.slice(folder ? folder.length + 1 : 0);
      const isDir = n.type === "directory" && n.mark !== "D";
      const label = `${name}${isDir ? "/" : ""}`;
      const nameCell = el("button", {
        type: "button",
        className: "tree-name",
        onclick: () => this.go({ path: n.path }),
      }, label);
      if (n.mark === "D") nameCell.classList.add("whiteout");
      const size = sizeOf(f, n);
      return el(
        "tr",
        {
          "data-path": n.path,
          "data-mark": n.mark ?? "",
          className: n.path === s.path ? "selected" : "",
        },
        el(
          "td",
          { className: "mark" },
          n.mark
            ? el("span", { className: `mark-${n.mark}`, title: MARK_TEXT[n.mark] }, n.mark)
            : "",
        ),
        el("td", { className: "name-cell" }, nameCell),
        el(
          "td",
          { className: "small" },
          n.mark === "D"
            ? `removes ${n.removed?.type ?? n.type}${
              n.removed && n.removed.files > 1 ? ` (${n.removed.files} files)` : ""
            }`
            : n.type + (n.linkname ? ` → ${n.linkname}` : n.hardlink ? ` ⇒ /${n.hardlink}` : ""),
        ),
        el("td", { className: "mono small" }, n.mark === "D" ? "" : modeText(n.mode, n.type)),
        el(
          "td",
          { className: "num" },
          n.mark === "D"
            ? `−${formatBytes(size)}`
            : n.type === "file" || n.type === "directory"
            ? formatBytes(size)
            : "",
        ),
        el("td", { className: "num" }, n.layer !== undefined ? `#${n.layer}` : ""),
      );
    });
    if (here.length > 2000) {
      rows.push(el("tr", {}, el("td", { colSpan: 6 }, `… ${here.length - 2000} more`)));
    }
    ($("tree") as HTMLTableElement).tBodies[0].replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 6 }, "(nothing here)"))]),
    );
    const selected = f.byPath.get(s.path);
    if (selected && selected.type !== "directory") viewFile(this, selected, layer);
    else clearViewer(this);
  }
}

/** Shown when an error is about the explorer (used by the page). */
export function explorerError(e: unknown, what: string): string {
  return plainError(e, what);
}
