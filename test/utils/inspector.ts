import WebSocket from "ws";

/**
 * A full garbage collection in another Node.js process, through its inspector (Chrome DevTools
 * Protocol `HeapProfiler.collectGarbage`; the process runs with `--inspect=127.0.0.1:0`). Resolves once
 * the collection is done, so a memory reading taken next shows what is still reachable, not what
 * the collector has yet to get to.
 */
export function collectGarbage(inspectorUrl: string, timeoutMs = 30_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(inspectorUrl);
    const timer = setTimeout(() => finish(new Error(`no answer from ${inspectorUrl} in ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      ws.terminate();
      if (err === undefined) resolve();
      else reject(err);
    };
    ws.once("error", (e) => finish(e));
    ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
      if (msg.id !== 1) return;
      finish(msg.error === undefined ? undefined : new Error(`HeapProfiler.collectGarbage: ${msg.error.message}`));
    });
  });
}
