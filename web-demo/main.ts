/// <reference lib="dom" />
/**
 * The page: drop or pick an archive or layout folder, import it into the browser's store
 * or open it read-only, browse images, their documents, config, history, layers and files,
 * export, delete, gc. All work happens in `worker.ts`; this file only draws.
 * @module
 */
import { shortDigest } from "../src/digest.ts";
import { formatBytes } from "../src/format.ts";
import type { ImageSummary } from "../src/image.ts";
import type { FileTree, ImageDetail, TreeEntry } from "../src/web/inspect.ts";
import { type Call, type SourceMessage, WorkerClient } from "../src/web/protocol.ts";
import { relativeFiles } from "../src/web/sources.ts";

/** Sizes on the page: binary units (`1.5 KiB`). */
const formatSize = (n: number) => formatBytes(n, { binary: true });

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {},
  ...children: (Node | string | undefined)[]
): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("aria-") || k.startsWith("data-") || k === "role") {
      e.setAttribute(k, String(v));
    } else (e as unknown as Record<string, unknown>)[k] = v;
  }
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
};

// `?throttle=MS` slows reading input, MS per MiB (a testing aid: makes cancel observable).
const throttle = new URL(location.href).searchParams.get("throttle");
const workerUrl = new URL("./worker.js", import.meta.url);
if (throttle) workerUrl.searchParams.set("throttle", throttle);
const worker = new Worker(workerUrl, { type: "module" });
const client = new WorkerClient(worker);

/** The image source shown in the table: the store, or an opened archive. */
interface ViewTab {
  id: string;
  label: string;
  readOnly: boolean;
}
const tabs: ViewTab[] = [{ id: "store", label: "This browser's store", readOnly: false }];
let current = "store";
let detail: { view: string; name: string; platform?: string; data?: ImageDetail } | undefined;
let tree: FileTree | undefined;
let folder = "";
let running: Call<unknown> | undefined;

// ----- messages -----

function showError(e: unknown, what?: string) {
  const box = $("error");
  const name = e instanceof Error ? e.name : "Error";
  const message = e instanceof Error ? e.message : String(e);
  box.textContent = `${what ? what + ": " : ""}${message}${
    name && name !== "Error" && name !== "WorkerError" ? `  (${name})` : ""
  }`;
  box.hidden = false;
  box.focus?.();
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function notice(text: string) {
  $("notice").textContent = text;
}

globalThis.addEventListener("unhandledrejection", (e) => showError(e.reason, "Unexpected error"));
globalThis.addEventListener("error", (e) => showError(e.error ?? e.message, "Unexpected error"));
client.onFatal = (e) => showError(e, "The storage worker could not start");
worker.onerror = (e) =>
  showError(e.message || "worker failed to load", "The storage worker failed");

// ----- storage usage -----

async function refreshUsage() {
  try {
    const est = await navigator.storage.estimate();
    const used = est.usage ?? 0;
    const quota = est.quota ?? 0;
    const pct = quota ? Math.min(100, (used / quota) * 100) : 0;
    $("usage-text").textContent = `Storage: ${formatSize(used)} of ${formatSize(quota)}`;
    $("usage-bar").style.width = `${pct.toFixed(1)}%`;
    $("usage-meter").setAttribute("aria-valuenow", pct.toFixed(1));
  } catch {
    $("usage-text").textContent = "Storage: unknown";
  }
}

// ----- tasks (import / open) with progress and cancel -----

function taskStart(label: string, call: Call<unknown>) {
  running = call;
  $("task").hidden = false;
  $("task-label").textContent = label;
  const bar = $<HTMLProgressElement>("task-progress");
  bar.removeAttribute("value");
  $("task-bytes").textContent = "";
  $<HTMLButtonElement>("task-cancel").focus();
}

function taskProgress(bytes: number, total?: number) {
  const bar = $<HTMLProgressElement>("task-progress");
  if (total) {
    bar.max = total;
    bar.value = Math.min(bytes, total);
    $("task-bytes").textContent = `${formatSize(bytes)} of ${formatSize(total)}`;
  } else $("task-bytes").textContent = formatSize(bytes);
}

let tasksDone = 0;

function taskEnd() {
  running = undefined;
  $("task").hidden = true;
  // Tests wait for this counter.
  document.body.dataset.tasksDone = String(++tasksDone);
}

$("task-cancel").addEventListener("click", () => running?.cancel());

function mode(): "import" | "open" {
  return (document.querySelector('input[name="mode"]:checked') as HTMLInputElement).value as
    | "import"
    | "open";
}

async function handleSource(source: SourceMessage, label: string) {
  clearError();
  notice("");
  if (running) {
    showError(new Error("another import or open is running; cancel it first"));
    return;
  }
  const op = mode();
  const tStart = performance.now();
  const call = client.call({ op, source }, {
    onProgress: (p) => taskProgress(p.bytes, p.total),
  });
  taskStart(`${op === "import" ? "Importing" : "Opening"} ${label}…`, call);
  try {
    if (op === "import") {
      const r = await (call as Call<import("../src/import/mod.ts").ImportResult>);
      notice(
        `Imported ${label}: ${r.images.length} name${r.images.length === 1 ? "" : "s"}, ` +
          `${r.blobs.added} new blob${r.blobs.added === 1 ? "" : "s"} (${
            formatSize(r.blobs.bytes)
          }), ${r.blobs.present} already present.`,
      );
      await selectTab("store");
    } else {
      const r = await (call as Call<{ view: string; label: string; format: string }>);
      tabs.push({ id: r.view, label: `${r.label} (read-only)`, readOnly: true });
      notice(`Opened ${r.label} read-only (${r.format}).`);
      await selectTab(r.view);
    }
  } catch (e) {
    showError(e, `Cannot ${op} ${label}`);
  } finally {
    // The time from choosing the input to the listed result (the benchmark reads it).
    document.body.dataset.lastTaskMs = (performance.now() - tStart).toFixed(1);
    taskEnd();
    refreshUsage();
  }
}

// File input, folder input, directory picker, drop zone.
$<HTMLInputElement>("file-input").addEventListener("change", (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = "";
  if (file) handleSource({ kind: "file", file }, file.name);
});
$<HTMLInputElement>("dir-input").addEventListener("change", (e) => {
  const input = e.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  input.value = "";
  if (!files.length) return;
  const label = files[0].webkitRelativePath.split("/")[0] || "folder";
  handleSource({ kind: "files", label, files: relativeFiles(files) }, label);
});
const picker = (globalThis as unknown as { showDirectoryPicker?: () => Promise<{ name: string }> })
  .showDirectoryPicker;
if (typeof picker === "function") {
  const b = $<HTMLButtonElement>("dir-picker");
  b.hidden = false;
  b.addEventListener("click", async () => {
    try {
      const handle = await picker.call(globalThis);
      handleSource({ kind: "handle", handle }, handle.name);
    } catch (e) {
      if ((e as Error).name !== "AbortError") showError(e, "Cannot pick a folder");
    }
  });
}
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", async (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const item = e.dataTransfer?.items?.[0] as DataTransferItem & {
    getAsFileSystemHandle?: () => Promise<{ kind: string; name: string } | null>;
  };
  if (item?.getAsFileSystemHandle) {
    const handle = await item.getAsFileSystemHandle();
    if (handle?.kind === "directory") {
      handleSource({ kind: "handle", handle }, handle.name);
      return;
    }
  }
  const file = e.dataTransfer?.files?.[0];
  if (file) handleSource({ kind: "file", file }, file.name);
});
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    $<HTMLInputElement>("file-input").click();
  }
});

// ----- images table -----

function renderTabs() {
  const box = $("view-tabs");
  box.replaceChildren(...tabs.map((t) => {
    const b = el("button", {
      type: "button",
      role: "tab",
      "aria-selected": String(t.id === current),
      onclick: () => selectTab(t.id),
    }, t.label);
    if (t.readOnly) {
      return el(
        "span",
        { className: "actions" },
        b,
        el("button", {
          type: "button",
          title: `Close ${t.label}`,
          "aria-label": `Close ${t.label}`,
          onclick: () => closeTab(t.id),
        }, "×"),
      );
    }
    return b;
  }));
}

async function closeTab(id: string) {
  await client.call({ op: "closeView", view: id }).catch(() => {});
  const i = tabs.findIndex((t) => t.id === id);
  if (i > 0) tabs.splice(i, 1);
  if (detail?.view === id) closeDetail();
  await selectTab(current === id ? "store" : current);
}

async function selectTab(id: string) {
  current = id;
  renderTabs();
  await refreshImages();
}

async function refreshImages() {
  const tab = tabs.find((t) => t.id === current)!;
  let images: ImageSummary[] = [];
  try {
    const r = await client.call({ op: "summaries", view: current });
    images = r.images;
    $("images-caption").textContent = `${tab.label}${
      r.format ? ` — ${r.format}` : ""
    }: ${images.length} image${images.length === 1 ? "" : "s"}`;
  } catch (e) {
    showError(e, "Cannot list images");
  }
  const body = ($("images") as HTMLTableElement).tBodies[0];
  body.replaceChildren(...images.map((img) => {
    const actions = el(
      "div",
      { className: "actions" },
      el("button", {
        type: "button",
        onclick: () => openDetail(current, img.name),
        "aria-label": `Inspect ${img.name}`,
      }, "Inspect"),
      el("button", {
        type: "button",
        onclick: () => exportImage(current, img.name),
        "aria-label": `Export ${img.name} as an oci-archive`,
      }, "Export"),
      tab.readOnly ? undefined : el("button", {
        type: "button",
        className: "danger",
        onclick: () => deleteImage(img.name),
        "aria-label": `Delete ${img.name}`,
      }, "Delete"),
    );
    return el(
      "tr",
      { "data-name": img.name },
      el("td", {}, img.name),
      el("td", {}, el("code", { title: img.digest }, shortDigest(img.digest))),
      el(
        "td",
        {},
        img.platforms.join(", ") || "—",
        img.missingPlatforms.length
          ? el(
            "span",
            { className: "tag", title: "content not present" },
            `missing: ${img.missingPlatforms.join(", ")}`,
          )
          : undefined,
      ),
      el("td", { className: "num" }, formatSize(img.size)),
      el("td", {}, actions),
    );
  }));
  $("images-empty").hidden = images.length > 0;
}

async function exportImage(view: string, name: string) {
  clearError();
  notice(`Exporting ${name}…`);
  try {
    const { blob, fileName } = await client.call({ op: "export", view, name });
    download(blob, fileName);
    notice(`Exported ${name} (${formatSize(blob.size)}).`);
  } catch (e) {
    showError(e, `Cannot export ${name}`);
  }
}

async function deleteImage(name: string) {
  if (!confirm(`Delete the name ${name}? Its blobs stay until you collect garbage.`)) return;
  clearError();
  try {
    await client.call({ op: "delete", names: [name] });
    notice(`Deleted ${name}.`);
    if (detail?.name === name && detail.view === "store") closeDetail();
    await refreshImages();
  } catch (e) {
    showError(e, `Cannot delete ${name}`);
  }
}

$("gc").addEventListener("click", async () => {
  clearError();
  try {
    const r = await client.call({ op: "gc" });
    notice(
      `Garbage collection removed ${r.removed.length} blob${r.removed.length === 1 ? "" : "s"} (${
        formatSize(r.bytes)
      }); ${r.kept} kept.`,
    );
    await refreshUsage();
  } catch (e) {
    showError(e, "Cannot collect garbage");
  }
});

function download(blob: Blob, fileName: string) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ----- detail view -----

function closeDetail() {
  detail = undefined;
  tree = undefined;
  $("detail").hidden = true;
}
$("detail-close").addEventListener("click", closeDetail);

async function openDetail(view: string, name: string, platform?: string) {
  clearError();
  detail = { view, name, platform };
  try {
    const data = await client.call({ op: "detail", view, name, platform });
    if (detail?.name !== name) return;
    detail.data = data;
    renderDetail(data);
    $("detail").hidden = false;
    $("detail-title").focus?.();
    $("detail").scrollIntoView({ block: "start" });
    await loadTree("merged");
  } catch (e) {
    showError(e, `Cannot inspect ${name}`);
  }
}

function kv(dl: HTMLElement, key: string, value: string | undefined) {
  if (value === undefined || value === "") return;
  dl.append(el("dt", {}, key), el("dd", {}, value));
}

function renderDetail(d: ImageDetail) {
  $("detail-title").textContent = d.name;
  $("detail-title").tabIndex = -1;
  $("detail-digest").textContent = `${d.digest} — ${d.mediaType}`;
  const select = $<HTMLSelectElement>("platform");
  const choices = d.platforms.length ? d.platforms.map((p) => p.label) : [d.platform];
  select.replaceChildren(
    ...choices.map((label) =>
      el("option", { value: label, selected: label === d.platform }, label)
    ),
  );
  select.disabled = choices.length < 2;
  const dl = $("config-summary");
  dl.replaceChildren();
  const c = d.config;
  kv(dl, "Entrypoint", c.entrypoint ? JSON.stringify(c.entrypoint) : undefined);
  kv(dl, "Cmd", c.cmd ? JSON.stringify(c.cmd) : undefined);
  kv(dl, "WorkingDir", c.workingDir);
  kv(dl, "User", c.user);
  kv(dl, "Ports", c.ports.join(", "));
  kv(dl, "Volumes", c.volumes.join(", "));
  kv(dl, "Env", c.env.join("\n"));
  kv(dl, "Labels", Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join("\n"));
  kv(dl, "StopSignal", c.stopSignal);
  kv(dl, "Created", c.created);
  kv(dl, "Platform", d.platform);
  const max = Math.max(1, ...d.layers.map((l) => l.size));
  $("layer-bars").replaceChildren(...d.layers.map((l) =>
    el(
      "li",
      { title: `${l.digest}\n${l.mediaType}${l.createdBy ? `\n${l.createdBy}` : ""}` },
      el("span", {}, `#${l.index}`),
      el(
        "div",
        {
          className: "bar",
          role: "img",
          "aria-label": `layer ${l.index}: ${formatSize(l.size)}`,
        },
        el("div", { "data-width": ((l.size / max) * 100).toFixed(1) }),
      ),
      el("span", { className: "num" }, formatSize(l.size)),
    )
  ));
  for (const bar of $("layer-bars").querySelectorAll<HTMLElement>("[data-width]")) {
    bar.style.width = `${bar.dataset.width}%`;
  }
  ($("history") as HTMLTableElement).tBodies[0].replaceChildren(...d.history.map((h, i) =>
    el(
      "tr",
      {},
      el("td", {}, String(i)),
      el("td", {}, el("code", {}, h.createdBy ?? "")),
      el("td", {}, h.created ?? ""),
      el("td", {}, h.emptyLayer ? "(empty)" : h.layer !== undefined ? `#${h.layer}` : ""),
      el("td", { className: "num" }, h.size !== undefined ? formatSize(h.size) : ""),
    )
  ));
  const layerSelect = $<HTMLSelectElement>("tree-layer");
  layerSelect.replaceChildren(
    el("option", { value: "merged" }, "merged filesystem"),
    ...d.layers.map((l) =>
      el("option", { value: String(l.index) }, `layer #${l.index} (${formatSize(l.size)})`)
    ),
  );
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
      }, "Copy");
      return el(
        "details",
        {},
        el("summary", {}, `${title} JSON`),
        el("div", { className: "row" }, copy),
        el("pre", { tabIndex: 0 }, text!),
      );
    }),
  );
}

$<HTMLSelectElement>("platform").addEventListener("change", (e) => {
  if (!detail) return;
  openDetail(detail.view, detail.name, (e.target as HTMLSelectElement).value);
});
$<HTMLSelectElement>("tree-layer").addEventListener("change", (e) => {
  const v = (e.target as HTMLSelectElement).value;
  loadTree(v === "merged" ? "merged" : Number(v));
});

async function loadTree(layer: number | "merged") {
  if (!detail) return;
  const body = ($("tree") as HTMLTableElement).tBodies[0];
  body.replaceChildren(el("tr", {}, el("td", { colSpan: 5 }, "Reading layers…")));
  try {
    tree = await client.call({
      op: "tree",
      view: detail.view,
      name: detail.name,
      platform: detail.data?.platform,
      layer,
    });
    folder = "";
    renderFolder();
  } catch (e) {
    body.replaceChildren();
    showError(e, "Cannot read the layers");
  }
}

function parentOf(path: string) {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

function renderFolder() {
  if (!tree) return;
  const all: TreeEntry[] = [...tree.entries, ...tree.deleted];
  const here = all.filter((e) => parentOf(e.path) === folder && e.path !== "." && e.path !== "");
  const dirs = new Set(all.map((e) => parentOf(e.path)));
  // Folders that exist only as parents of entries (a layer may not list them).
  for (const d of dirs) {
    if (d && parentOf(d) === folder && !here.some((e) => e.path === d)) {
      here.push({ path: d, type: "directory", size: 0, mode: 0, uid: 0, gid: 0, mtime: 0 });
    }
  }
  here.sort((a, b) =>
    (a.type === "directory" ? 0 : 1) - (b.type === "directory" ? 0 : 1) ||
    (a.path < b.path ? -1 : 1)
  );
  const crumbs = $("crumbs");
  const parts = folder ? folder.split("/") : [];
  crumbs.replaceChildren(
    el("button", { type: "button", onclick: () => enter("") }, "/"),
    ...parts.map((p, i) =>
      el(
        "button",
        { type: "button", onclick: () => enter(parts.slice(0, i + 1).join("/")) },
        `${p}/`,
      )
    ),
  );
  const rows = here.map((e) => {
    const name = e.path.slice(folder ? folder.length + 1 : 0);
    const isDir = e.type === "directory" && !e.whiteout;
    const label = `${name}${isDir ? "/" : ""}`;
    const nameCell = isDir
      ? el(
        "button",
        { type: "button", className: "tree-name", onclick: () => enter(e.path) },
        label,
      )
      : e.content
      ? el("button", { type: "button", className: "tree-name", onclick: () => preview(e) }, label)
      : el("span", {}, label);
    if (e.whiteout) {
      nameCell.classList.add("whiteout");
      nameCell.append(
        el("span", { className: "tag" }, e.whiteout === "opaque" ? "opaque dir" : "whiteout"),
      );
    }
    return el(
      "tr",
      { "data-path": e.path },
      el("td", {}, nameCell),
      el("td", {}, e.type + (e.linkname ? ` → ${e.linkname}` : "")),
      el("td", {}, e.mode ? (e.mode & 0o7777).toString(8).padStart(4, "0") : ""),
      el("td", { className: "num" }, e.type === "file" ? formatSize(e.size) : ""),
      el("td", {}, e.layer !== undefined ? `#${e.layer}` : ""),
    );
  });
  ($("tree") as HTMLTableElement).tBodies[0].replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 5 }, "(empty)"))]),
  );
}

function enter(path: string) {
  folder = path;
  renderFolder();
  ($("crumbs").lastElementChild as HTMLElement | null)?.focus();
}

let previewing: TreeEntry | undefined;

async function preview(e: TreeEntry) {
  if (!detail || !e.content) return;
  previewing = e;
  $("preview").hidden = false;
  $("preview-name").textContent = `/${e.path} (${formatSize(e.size)})`;
  $("preview-text").textContent = "Reading…";
  try {
    const r = await client.call({
      op: "file",
      view: detail.view,
      name: detail.name,
      platform: detail.data?.platform,
      ref: e.content,
      max: 256 * 1024,
    });
    if (previewing !== e) return;
    $("preview-text").textContent = r.text
      ? new TextDecoder().decode(r.bytes) + (r.truncated ? "\n… (preview cut at 256 KiB)" : "")
      : `(binary file, ${formatSize(e.size)}; use Download)`;
  } catch (err) {
    $("preview-text").textContent = "";
    showError(err, `Cannot read /${e.path}`);
  }
}

$("preview-download").addEventListener("click", async () => {
  const e = previewing;
  if (!detail || !e?.content) return;
  try {
    const r = await client.call({
      op: "file",
      view: detail.view,
      name: detail.name,
      platform: detail.data?.platform,
      ref: e.content,
    });
    download(new Blob([r.bytes as Uint8Array<ArrayBuffer>]), e.path.split("/").pop() || "file");
  } catch (err) {
    showError(err, `Cannot download /${e.path}`);
  }
});

// ----- start -----

// Offline once loaded (not for tests that ask for ?nosw, to keep runs independent).
if ("serviceWorker" in navigator && !new URL(location.href).searchParams.has("nosw")) {
  navigator.serviceWorker.register("./sw.js").catch(() => {});
}

(async () => {
  await client.ready;
  renderTabs();
  await refreshImages();
  await refreshUsage();
  document.body.dataset.ready = "true";
})();
