/// <reference lib="dom" />
/**
 * The page: drop or pick an archive or layout folder, import it into the browser's store
 * or open it read-only, browse images, their documents, config, history, layers and files,
 * export, delete, gc. All work happens in `worker.ts`; this file only draws.
 * @module
 */
import { $, download, el, formatBytes, isCancel, plainError, shortDigestText } from "./dom.ts";
import { Explorer, hashOf, stateFromHash, type ViewState } from "./explorer.ts";
import type { ImageSummary } from "../src/image.ts";
import { type Call, type SourceMessage, WorkerClient } from "../src/web/protocol.ts";
import { relativeFiles } from "../src/web/sources.ts";
import { mountRegistryPanel } from "./registry.ts";

// `?throttle=MS` slows reading input, MS per MiB (a testing aid: makes cancel observable).
// `?noindex` imports without indexing the layers (the benchmark's measure of that cost).
const params = new URL(location.href).searchParams;
const workerUrl = new URL("./worker.js", import.meta.url);
if (params.get("throttle")) workerUrl.searchParams.set("throttle", params.get("throttle")!);
if (params.has("noindex")) workerUrl.searchParams.set("noindex", "");
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
let running: Call<unknown> | undefined;

// ----- messages -----

function showError(e: unknown, what?: string, tail?: string) {
  const box = $("error");
  box.textContent = plainError(e, what, tail);
  box.hidden = false;
  box.tabIndex = -1;
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
    const info = await client.call({ op: "storage" });
    $("store-text").textContent = `Store: ${info.images} image${
      info.images === 1 ? "" : "s"
    }, ${info.blobs} blob${info.blobs === 1 ? "" : "s"}, ${formatBytes(info.bytes)}${
      info.unreferenced
        ? `; garbage collection would free ${
          formatBytes(info.unreferencedBytes)
        } (${info.unreferenced} blob${info.unreferenced === 1 ? "" : "s"})`
        : "; nothing to collect"
    }`;
    document.body.dataset.storeBlobs = String(info.blobs);
  } catch (e) {
    $("store-text").textContent = `Store: unknown (${plainError(e)})`;
  }
  try {
    const est = await navigator.storage.estimate();
    const used = est.usage ?? 0;
    const quota = est.quota ?? 0;
    const pct = quota ? Math.min(100, (used / quota) * 100) : 0;
    $("usage-text").textContent = `Browser's estimate: ${formatBytes(used)} of ${
      formatBytes(quota)
    } used`;
    $("usage-bar").style.width = `${pct.toFixed(1)}%`;
    $("usage-meter").setAttribute("aria-valuenow", pct.toFixed(1));
  } catch {
    $("usage-text").textContent = "Browser's estimate: unknown";
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

function taskProgress(bytes: number, total?: number, phase?: string) {
  const bar = $<HTMLProgressElement>("task-progress");
  const what = phase ? `${phase} ` : "";
  if (total) {
    bar.max = total;
    bar.value = Math.min(bytes, total);
    $("task-bytes").textContent = `${what}${formatBytes(Math.min(bytes, total))} of ${
      formatBytes(total)
    }`;
  } else $("task-bytes").textContent = `${what}${formatBytes(bytes)}`;
  document.body.dataset.progress = total ? String(Math.min(bytes, total) / total) : "";
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

/**
 * Entries of the input that had no name of their own (an untagged `docker save`, a layout
 * written without a tag): the import names them `<base>@<digest>`; say so, with digests.
 */
function unnamedNote(entries: readonly import("../src/import/mod.ts").ImportedEntry[]): string {
  const unnamed = entries.filter((e) =>
    e.imported && e.names.every((n) => n.endsWith(`@${e.digest}`))
  );
  if (unnamed.length === 0) return "";
  const shown = unnamed.slice(0, 3).map((e) => e.names[0] ?? e.digest).join(", ");
  const more = unnamed.length > 3 ? ` and ${unnamed.length - 3} more` : "";
  return unnamed.length === 1
    ? ` 1 image had no name; it is listed by its digest as ${shown}.`
    : ` ${unnamed.length} images had no name; they are listed by their digests as ${shown}${more}.`;
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
    onProgress: (p) => taskProgress(p.bytes, p.total, p.phase),
  });
  taskStart(`${op === "import" ? "Importing" : "Opening"} ${label}…`, call);
  try {
    if (op === "import") {
      const r = await (call as Call<import("../src/import/mod.ts").ImportResult>);
      notice(
        `Imported ${label}: ${r.images.length} name${r.images.length === 1 ? "" : "s"}, ` +
          `${r.blobs.added} new blob${r.blobs.added === 1 ? "" : "s"} (${
            formatBytes(r.blobs.bytes)
          }), ${r.blobs.present} already present.${unnamedNote(r.entries)}`,
      );
      await selectTab("store");
    } else {
      const r = await (call as Call<{ view: string; label: string; format: string }>);
      tabs.push({ id: r.view, label: `${r.label} (read-only)`, readOnly: true });
      notice(`Opened ${r.label} read-only (${r.format}).`);
      await selectTab(r.view);
    }
  } catch (e) {
    if (isCancel(e)) {
      notice(
        `${op === "import" ? "Import" : "Opening"} of ${label} cancelled. Nothing was stored.`,
      );
    } else showError(e, `Cannot ${op} ${label}`, "Nothing was stored.");
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
$("pick-file").addEventListener("click", () => $<HTMLInputElement>("file-input").click());
$("pick-dir").addEventListener("click", () => $<HTMLInputElement>("dir-input").click());

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
  if (explorer.state?.view === id) closeDetail();
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
  imagesByView.set(
    current,
    images.map((i) => ({
      view: current,
      name: i.name,
      label: tab.readOnly ? `${i.name} (${tab.label})` : i.name,
    })),
  );
  knownImages = [...imagesByView.entries()].filter(([v]) => tabs.some((t) => t.id === v))
    .flatMap(([, list]) => list);
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
      el("td", { className: "image-name", "data-label": "Name" }, img.name),
      el(
        "td",
        { "data-label": "Digest" },
        el("code", { title: img.digest, className: "digest-text" }, shortDigestText(img.digest)),
      ),
      el(
        "td",
        { "data-label": "Platforms" },
        img.platforms.join(", ") || "—",
        img.missingPlatforms.length
          ? el(
            "span",
            { className: "tag", title: "content not present" },
            `missing: ${img.missingPlatforms.join(", ")}`,
          )
          : undefined,
      ),
      el("td", { className: "num", "data-label": "Size" }, formatBytes(img.size)),
      el("td", { "data-label": "Actions" }, actions),
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
    notice(`Exported ${name} (${formatBytes(blob.size)}).`);
  } catch (e) {
    showError(e, `Cannot export ${name}`);
  }
}

/** Asks in the page (a modal dialog), not with `confirm()`. */
function confirmInPage(text: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
    $("confirm-no").focus();
  });
}

async function deleteImage(name: string) {
  if (!(await confirmInPage(`Delete ${name}? Its blobs stay until you collect garbage.`))) return;
  clearError();
  try {
    await client.call({ op: "delete", names: [name] });
    notice(`Deleted ${name}.`);
    if (explorer.state?.image === name && explorer.state.view === "store") closeDetail();
    await refreshUsage();
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
        formatBytes(r.bytes)
      }); ${r.kept} kept.`,
    );
    await refreshUsage();
  } catch (e) {
    showError(e, "Cannot collect garbage");
  }
});

// ----- the explorer, its state in the URL -----

const explorer = new Explorer({
  client,
  onState: (state: ViewState | undefined, replace) => {
    const hash = state ? hashOf(state) : "";
    if (hash === location.hash || (!hash && !location.hash)) return;
    const url = `${location.pathname}${location.search}${hash}`;
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
  },
  onError: (e, what) => showError(e, what),
});
explorer.compareChoices = () => knownImages;
let knownImages: { view: string; name: string; label: string }[] = [];
const imagesByView = new Map<string, { view: string; name: string; label: string }[]>();

function openDetail(view: string, name: string) {
  clearError();
  explorer.open({ view, image: name, tab: "layers", mode: "upto", path: "" }).then(() => {
    $("detail").scrollIntoView({ block: "start" });
    $("detail-title").focus({ preventScroll: true });
  });
}

function closeDetail() {
  explorer.close(true);
}

/** Restores the view the URL names (a reload, Back, a link). */
async function restoreFromUrl() {
  const s = stateFromHash(location.hash);
  if (!s) {
    if (explorer.state) explorer.close();
    return;
  }
  if (!tabs.some((t) => t.id === s.view)) {
    showError(
      new Error(`${s.view} is not open any more; open the archive again`),
      "Cannot restore the view",
    );
    return;
  }
  await explorer.open(s);
}
globalThis.addEventListener("popstate", () => restoreFromUrl());

// ----- start -----

// Offline once loaded (not for tests that ask for ?nosw, to keep runs independent).
if ("serviceWorker" in navigator && !new URL(location.href).searchParams.has("nosw")) {
  navigator.serviceWorker.register("./sw.js").catch(() => {});
}

mountRegistryPanel({
  after: $("add-title").closest("section")!,
  onStoreChanged: async () => {
    await refreshImages();
    await refreshUsage();
  },
});

(async () => {
  await client.ready;
  renderTabs();
  await refreshImages();
  await refreshUsage();
  document.body.dataset.ready = "true";
  await restoreFromUrl();
})();
