/**
 * Deno only: file descriptors running out (EMFILE). Deno 2.9 panics, instead of throwing,
 * when it cannot get a descriptor for its signal-handling thread or for a worker's event
 * loop, so lading sets signal handling up while descriptors are plentiful and starts a
 * worker only when a few descriptors are spare.
 * @module
 */

/** True when `count` more files could be opened now. */
export function haveSpareDescriptors(count = 8): boolean {
  const opened: Deno.FsFile[] = [];
  try {
    for (let i = 0; i < count; i++) opened.push(Deno.openSync("/dev/null"));
    return true;
  } catch {
    return false;
  } finally {
    for (const f of opened) f.close();
  }
}

let signalsReady = false;

/**
 * Sets up the runtime's signal handling (its thread and pipe) now, so that a signal
 * listener added later needs no new descriptor. Ctrl-C keeps its default effect: no
 * listener stays registered. Call it first thing in a process.
 */
export function prepareSignalHandling(): void {
  if (signalsReady || Deno.build.os === "windows") return;
  signalsReady = true;
  const none = () => {};
  try {
    Deno.addSignalListener("SIGINT", none);
    Deno.removeSignalListener("SIGINT", none);
  } catch {
    // no signals here: nothing to prepare
  }
}
