/// <reference lib="dom" />
/**
 * The image explorer: layers with their changes (A/M/D) and the filesystem up to each
 * layer, efficiency and wasted paths, sizes (directory totals, largest files, treemap),
 * search and provenance, security glance, compare, file viewer, config and documents.
 * The worker computes (src/web/explore.ts); this module draws and keeps the state in the
 * URL (`#view=…&image=…&platform=…&tab=…&layer=…&mode=…&path=…`).
 * @module
 */
import { $, download, el, formatBytes, isCancel, plainError, shortDigestText } from "./dom.ts";
import { squarify } from "./treemap.ts";
import type { ImageDetail } from "../src/web/inspect.ts";
import type {
  EfficiencyView,
  ExploreNode,
  LayersView,
  Mark,
  ProvenanceEvent,
  TreeMode,
} from "../src/web/explore.ts";
import type { ImageRef, WorkerClient } from "../src/web/protocol.ts";
import type { ComparedLayer } from "../src/web/compare.ts";

/** The explorer's tabs. */
export const TABS = [
  ["layers", "Layers"],
  ["efficiency", "Efficiency"],
  ["sizes", "Sizes"],
  ["search", "Search"],
  ["security", "Security"],
  ["compare", "Compare"],
  ["config", "Config"],
] as const;
/** A tab id. */
export type Tab = typeof TABS[number][0];

/** What the URL keeps. */
export interface ViewState {
  view: string;
  image: string;
  platform?: string;
  tab: Tab;
  /** Selected layer; absent: the last (the merged filesystem). */
  layer?: number;
  mode: TreeMode;
  /** Folder shown, or file selected (its folder shown). */
  path: string;
  q?: string;
}

/** Reads the state from `location.hash`. */
export function stateFromHash(hash: string): ViewState | undefined {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const image = p.get("image");
  if (!image) return undefined;
  const tab = (p.get("tab") ?? "layers") as Tab;
  const layer = p.get("layer");
  return {
    view: p.get("view") ?? "store",
    image,
    platform: p.get("platform") ?? undefined,
    tab: TABS.some(([t]) => t === tab) ? tab : "layers",
    layer: layer !== null && /^\d+$/.test(layer) ? Number(layer) : undefined,
    mode: p.get("mode") === "changes" ? "changes" : "upto",
    path: (p.get("path") ?? "").replace(/^\/+/, ""),
    q: p.get("q") ?? undefined,
  };
}

/** The hash for a state. */
export function hashOf(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.view !== "store") p.set("view", s.view);
  p.set("image", s.image);
  if (s.platform) p.set("platform", s.platform);
  if (s.tab !== "layers") p.set("tab", s.tab);
  if (s.layer !== undefined) p.set("layer", String(s.layer));
  if (s.mode !== "upto") p.set("mode", s.mode);
  if (s.path) p.set("path", s.path);
  if (s.q) p.set("q", s.q);
  return "#" + p.toString();
}

const MARK_TEXT: Record<Mark, string> = { A: "added", M: "modified", D: "deleted" };

function parentOf(path: string) {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

function modeText(mode: number, type: string): string {
  const t = type === "directory" ? "d" : type === "symlink" ? "l" : "-";
  let s = "";
  const bits = "rwxrwxrwx";
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : "-";
  const a = s.split("");
  if (mode & 0o4000) a[2] = a[2] === "x" ? "s" : "S";
  if (mode & 0o2000) a[5] = a[5] === "x" ? "s" : "S";
  if (mode & 0o1000) a[8] = a[8] === "x" ? "t" : "T";
  return t + a.join("");
}

/** A folder index over a flat node list: children per folder and folder totals. */
interface Folders {
  children: Map<string, ExploreNode[]>;
  /** Bytes of regular files under each folder (deleted paths excluded). */
  totals: Map<string, number>;
  /** Folders that hold a changed path (for "hide unchanged"). */
  marked: Map<string, Set<Mark>>;
  byPath: Map<string, ExploreNode>;
}

function indexFolders(nodes: readonly ExploreNode[]): Folders {
  const children = new Map<string, ExploreNode[]>();
  const totals = new Map<string, number>();
  const marked = new Map<string, Set<Mark>>();
  const byPath = new Map<string, ExploreNode>();
  const ensureDir = (path: string) => {
    if (path === "" || byPath.has(path)) return;
    const dir: ExploreNode = { path, type: "directory", size: 0, mode: 0o755, uid: 0, gid: 0 };
    byPath.set(path, dir);
    const parent = parentOf(path);
    ensureDir(parent);
    (children.get(parent) ?? children.set(parent, []).get(parent)!).push(dir);
  };
  for (const n of nodes) {
    const existing = byPath.get(n.path);
    if (existing) {
      // A folder made up as a parent, then listed: take the real one.
      const list = children.get(parentOf(n.path))!;
      list[list.indexOf(existing)] = n;
    } else {
      ensureDir(parentOf(n.path));
      (children.get(parentOf(n.path)) ?? children.set(parentOf(n.path), []).get(
        parentOf(n.path),
      )!).push(n);
    }
    byPath.set(n.path, n);
    const bytes = n.type === "file" && n.mark !== "D" ? n.size : 0;
    for (let p = parentOf(n.path);; p = parentOf(p)) {
      if (bytes) totals.set(p, (totals.get(p) ?? 0) + bytes);
      if (n.mark) {
        let s = marked.get(p);
        if (!s) marked.set(p, s = new Set());
        s.add(n.mark);
      }
      if (p === "") break;
    }
  }
  return { children, totals, marked, byPath };
}

function sizeOf(f: Folders, n: ExploreNode): number {
  if (n.mark === "D") return n.removed?.bytes ?? n.size;
  return n.type === "directory" ? f.totals.get(n.path) ?? 0 : n.size;
}

/** The explorer; one per page. */
export class Explorer {
  #client: WorkerClient;
  #onState: (s: ViewState, replace: boolean) => void;
  #onError: (e: unknown, what: string) => void;
  state?: ViewState;
  detail?: ImageDetail;
  layers?: LayersView;
  #trees = new Map<string, { nodes: ExploreNode[]; folders: Folders }>();
  #filters = { hideUnchanged: false, only: new Set<Mark>() };
  #sort: "name" | "size" = "name";
  #previewing?: string;
  #gen = 0;
  #busy?: { cancel(): void };
  /** Images to compare with: filled by the page. */
  compareChoices: () => { view: string; name: string; label: string }[] = () => [];

  constructor(options: {
    client: WorkerClient;
    onState: (s: ViewState, replace: boolean) => void;
    onError: (e: unknown, what: string) => void;
  }) {
    this.#client = options.client;
    this.#onState = options.onState;
    this.#onError = options.onError;
    this.#wire();
  }

  get ref(): ImageRef {
    return { view: this.state!.view, name: this.state!.image, platform: this.state!.platform };
  }

  get lastLayer(): number {
    return (this.layers?.layers.length ?? 1) - 1;
  }

  /** Marks a view as drawn (tests and bench/web.ts wait for and time it). */
  #drawn(tab: Tab) {
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
      this.#compare();
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
    ) this.#clearViewer();
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
      this.#clearViewer();
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
        const detail = await this.#client.call({
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
        const call = this.#client.call({ op: "analyze", image: this.ref }, {
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
        this.#onError(e, `Cannot inspect ${s.image}`);
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
    else if (s.tab === "efficiency") this.#efficiency();
    else if (s.tab === "sizes") this.#sizes();
    else if (s.tab === "search") this.#search();
    else if (s.tab === "security") this.#security();
    else if (s.tab === "compare") this.#renderCompareChoices();
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
  #treeKey(layer: number, mode: TreeMode): string {
    const r = this.ref;
    return JSON.stringify([r.view, r.name, r.platform ?? "", layer, mode]);
  }

  async #tree(layer: number, mode: TreeMode) {
    const key = this.#treeKey(layer, mode);
    let t = this.#trees.get(key);
    if (!t) {
      const nodes = await this.#client.call({ op: "layerTree", image: this.ref, layer, mode });
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
      await this.#tree(layer, s.mode);
    } catch (e) {
      this.#onError(e, `Cannot read layer ${layer}`);
      return;
    }
    if (this.state !== s) return;
    this.#renderTree();
    this.#drawn("layers");
  }

  #folder(): string {
    const s = this.state!;
    const t = this.#trees.get(this.#treeKey(s.layer ?? this.lastLayer, s.mode));
    const n = t?.folders.byPath.get(s.path);
    return n && n.type !== "directory" ? parentOf(s.path) : s.path;
  }

  #renderTree() {
    const s = this.state!;
    const layer = s.layer ?? this.lastLayer;
    const t = this.#trees.get(this.#treeKey(layer, s.mode));
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
    if (selected && selected.type !== "directory") this.#viewFile(selected, layer);
    else this.#clearViewer();
  }

  // ----- file viewer -----

  #clearViewer() {
    this.#previewing = undefined;
    $("viewer").hidden = true;
    $("viewer-body").replaceChildren();
    $("viewer-provenance").replaceChildren();
  }

  async #viewFile(n: ExploreNode, layer: number) {
    const key = `${layer}:${this.state!.mode}:${n.path}`;
    if (this.#previewing === key) return;
    this.#previewing = key;
    $("viewer").hidden = false;
    $("viewer-name").textContent = `/${n.path}`;
    const info = n.mark === "D"
      ? `deleted in layer #${layer}: removes ${formatBytes(n.removed?.bytes ?? n.size)} (${
        n.removed?.files ?? 0
      } file${n.removed?.files === 1 ? "" : "s"})`
      : `${n.type}, ${formatBytes(n.size)}, ${
        modeText(n.mode, n.type)
      }, uid ${n.uid} gid ${n.gid}` +
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
            const target = await this.#client.call({
              op: "resolve",
              image: this.ref,
              path: n.path,
              layer,
            });
            this.go({ path: target.path });
          } catch (e) {
            this.#onError(e, `Cannot follow /${n.path}`);
          }
        },
      }, `Follow link → ${n.linkname}`));
    }
    this.#provenance(n.path);
    if (!n.content || n.mark === "D") return;
    actions.append(el("button", {
      type: "button",
      onclick: async () => {
        try {
          const r = await this.#client.call({ op: "file", image: this.ref, ref: n.content! });
          download(
            new Blob([r.bytes as Uint8Array<ArrayBuffer>]),
            n.path.split("/").pop() || "file",
          );
        } catch (e) {
          this.#onError(e, `Cannot download /${n.path}`);
        }
      },
    }, "Download"));
    body.append(el("p", { className: "hint" }, "Reading…"));
    try {
      const max = 256 * 1024;
      const r = await this.#client.call({ op: "file", image: this.ref, ref: n.content, max });
      if (this.#previewing !== key) return;
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
      this.#onError(e, `Cannot read /${n.path}`);
    }
  }

  async #provenance(path: string) {
    const box = $("viewer-provenance");
    try {
      const p = await this.#client.call({ op: "provenance", image: this.ref, path });
      if (this.state?.path !== path) return;
      box.replaceChildren(
        el("h4", {}, `Provenance of /${path}`),
        p.events.length
          ? el("ol", { className: "plain events" }, ...p.events.map((e) => this.#eventItem(e)))
          : el("p", { className: "hint" }, "No layer changed this path."),
      );
    } catch (e) {
      this.#onError(e, `Cannot trace /${path}`);
    }
  }

  #eventItem(e: ProvenanceEvent) {
    const step = this.layers!.layers[e.layer];
    const cmd = this.layers!.steps.find((s) => s.layer === e.layer)?.createdBy;
    return el(
      "li",
      {},
      el("button", {
        type: "button",
        "aria-label": `#${e.layer}: layer ${e.layer} ${e.kind}`,
        onclick: () =>
          this.go({ tab: "layers", layer: e.layer, mode: "changes", path: e.via ?? "" }),
      }, `#${e.layer}`),
      ` ${e.kind}${e.via ? ` (with /${e.via})` : ""}${
        e.kind !== "deleted" && e.type === "file" ? `, ${formatBytes(e.size)}` : ""
      }${step ? "" : ""}`,
      cmd ? el("code", { className: "small command" }, ` ${cmd}`) : "",
    );
  }

  // ----- efficiency -----

  async #efficiency() {
    const key = this.#treeKey(-1, "upto");
    let r = this.#efficiencies.get(key);
    try {
      r ??= await this.#client.call({ op: "efficiency", image: this.ref });
      this.#efficiencies.set(key, r);
    } catch (e) {
      this.#onError(e, "Cannot compute the efficiency");
      return;
    }
    const pct = (r.efficiency * 100).toFixed(2);
    const floor = Math.floor(r.efficiency * 100) / 100;
    const cmd = `lading waste ${this.state!.image}${
      this.detail?.platforms.length ? ` --platform ${this.detail.platform}` : ""
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
        el(
          "td",
          { className: "name-cell" },
          el("button", {
            type: "button",
            className: "tree-name",
            onclick: () => {
              const last = p.events.filter((e) => e.kind !== "deleted").at(-1);
              this.go({ tab: "layers", layer: last?.layer ?? 0, mode: "upto", path: p.path });
            },
          }, `/${p.path}`),
        ),
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
                this.go({ tab: "layers", layer: e.layer, mode: "changes", path: e.via ?? p.path }),
            }, `#${e.layer} ${e.kind === "added" ? "A" : e.kind === "modified" ? "M" : "D"}`)
          ),
        ),
      )
    ));
    $("waste-empty").hidden = r.paths.length > 0;
    $("waste-more").textContent = r.pathCount > r.paths.length
      ? `${r.pathCount - r.paths.length} more paths waste bytes.`
      : "";
    this.#drawn("efficiency");
  }

  // ----- sizes -----

  #treemapRoot = "";
  #svgs = new Map<string, SVGSVGElement>();
  #efficiencies = new Map<string, EfficiencyView>();

  async #sizes() {
    let t;
    try {
      t = await this.#tree(this.lastLayer, "upto");
    } catch (e) {
      this.#onError(e, "Cannot read the filesystem");
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
          onclick: () => this.go({ tab: "layers", layer: undefined, mode: "upto", path: n.path }),
        }, `/${n.path}`),
        el("span", { className: "num" }, ` ${formatBytes(n.size)}`),
      )
    ));
    this.#drawTreemap(f);
    this.#drawn("sizes");
  }

  /** The treemap of folder `root` as an SVG (kept: showing it again is instant). */
  #buildTreemap(f: Folders, root: string, W: number, H: number): SVGSVGElement {
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
      x: number,
      y: number,
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
      const rects = squarify(kids.map((k) => k.v), { x, y, w, h });
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
            this.#treemapRoot = n.path;
            this.#drawTreemap(f);
          } else this.go({ tab: "layers", layer: undefined, mode: "upto", path: n.path });
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

  #drawTreemap(f: Folders) {
    if (!f.byPath.has(this.#treemapRoot) && this.#treemapRoot !== "") this.#treemapRoot = "";
    const root = this.#treemapRoot;
    const box = $("treemap");
    const W = Math.max(300, Math.min(box.clientWidth || 1100, 1400));
    const H = Math.round(Math.min(560, W * 0.55));
    const cacheKey = `${this.#treeKey(this.lastLayer, "upto")}|${root}|${W}`;
    let svg = this.#svgs.get(cacheKey);
    if (!svg) {
      svg = this.#buildTreemap(f, root, W, H);
      if (this.#svgs.size > 8) this.#svgs.delete(this.#svgs.keys().next().value!);
      this.#svgs.set(cacheKey, svg);
    }
    const parts = root ? root.split("/") : [];
    $("treemap-crumbs").replaceChildren(
      el("button", {
        type: "button",
        "aria-label": "treemap of the root folder",
        onclick: () => {
          this.#treemapRoot = "";
          this.#drawTreemap(f);
        },
      }, "/"),
      ...parts.map((p, i) =>
        el("button", {
          type: "button",
          onclick: () => {
            this.#treemapRoot = parts.slice(0, i + 1).join("/");
            this.#drawTreemap(f);
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
              this.#treemapRoot = n.path;
              this.#drawTreemap(f);
            } else this.go({ tab: "layers", layer: undefined, mode: "upto", path: n.path });
          },
        }, `${n.path.slice(root ? root.length + 1 : 0)}${n.type === "directory" ? "/" : ""}`),
        ` ${formatBytes(v)}`,
      )
    ));
  }

  // ----- search -----

  async #search() {
    const q = this.state!.q ?? "";
    const input = $<HTMLInputElement>("search-q");
    if (document.activeElement !== input) input.value = q;
    const body = ($("search-results") as HTMLTableElement).tBodies[0];
    if (!q) {
      body.replaceChildren();
      $("search-count").textContent = "Type a path or a glob (* ? ** [ ]), then Search.";
      return;
    }
    try {
      const r = await this.#client.call({ op: "search", image: this.ref, query: q });
      $("search-count").textContent = `${r.total} match${r.total === 1 ? "" : "es"} in all layers${
        r.total > r.hits.length ? ` (first ${r.hits.length} shown)` : ""
      }`;
      body.replaceChildren(...r.hits.map((h) =>
        el(
          "tr",
          { "data-path": h.path, "data-layer": String(h.layer) },
          el(
            "td",
            { className: "name-cell" },
            el("button", {
              type: "button",
              className: "tree-name",
              onclick: () =>
                this.go({ tab: "layers", layer: h.layer, mode: "changes", path: h.path }),
            }, `/${h.path}`),
          ),
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
      this.#onError(e, "Cannot search");
    }
  }

  // ----- security -----

  async #security() {
    try {
      const r = await this.#client.call({ op: "security", image: this.ref });
      ($("flagged") as HTMLTableElement).tBodies[0].replaceChildren(...r.flagged.map((p) =>
        el(
          "tr",
          { "data-path": p.path },
          el(
            "td",
            { className: "name-cell" },
            el("button", {
              type: "button",
              className: "tree-name",
              onclick: () =>
                this.go({ tab: "layers", layer: undefined, mode: "upto", path: p.path }),
            }, `/${p.path}`),
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
      this.#onError(e, "Cannot read the security glance");
    }
  }

  // ----- compare -----

  #renderCompareChoices() {
    const select = $<HTMLSelectElement>("compare-with");
    const current = select.value;
    const choices = this.compareChoices().filter((c) =>
      !(c.view === this.state!.view && c.name === this.state!.image)
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

  async #compare() {
    const value = $<HTMLSelectElement>("compare-with").value;
    if (!value) return;
    const [view, name] = JSON.parse(value) as [string, string];
    const out = $("compare-result");
    out.replaceChildren(el("p", { className: "hint" }, "Reading both images…"));
    try {
      const r = await this.#client.call({ op: "compare", a: this.ref, b: { view, name } });
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
            this.state!.image
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
      this.#onError(e, "Cannot compare");
    }
  }
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

function textView(text: string, path: string): HTMLElement {
  const lines = text.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const width = String(lines.length).length;
  const pre = el("pre", { className: "code", tabIndex: 0, "aria-label": `contents of /${path}` });
  const frag = document.createDocumentFragment();
  lines.forEach((line, i) => {
    frag.append(
      el("span", { className: "ln", "aria-hidden": "true" }, String(i + 1).padStart(width, " ")),
      line + "\n",
    );
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

/** Shown when an error is about the explorer (used by the page). */
export function explorerError(e: unknown, what: string): string {
  return plainError(e, what);
}
