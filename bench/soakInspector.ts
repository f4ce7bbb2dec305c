// A minimal Chrome DevTools Protocol session with the dev node's main thread (started with
// `--inspect=127.0.0.1:0`): its process.memoryUsage() and V8 heap snapshots streamed to a file. An inspector session,
// not `--heapsnapshot-signal`, because it also reads the heap figures and tells when a snapshot is complete.
import { createWriteStream } from "node:fs";
import WebSocket from "ws";

export interface NodeMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The inspector's WebSocket URL from the node's stderr banner ("Debugger listening on ws://…"). */
export function inspectorUrl(output: string): string | null {
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output)?.[1] ?? null;
}

export class InspectorSession {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private chunkSink: ((chunk: string) => void) | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: { chunk?: string };
      };
      if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.error !== undefined) w?.reject(new Error(`inspector: ${msg.error.message}`));
        else w?.resolve(msg.result);
      } else if (msg.method === "HeapProfiler.addHeapSnapshotChunk" && msg.params?.chunk !== undefined) {
        this.chunkSink?.(msg.params.chunk);
      }
    });
    ws.on("close", () => {
      for (const w of this.waiting.values()) w.reject(new Error("inspector: connection closed"));
      this.waiting.clear();
    });
  }

  static connect(url: string): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
      ws.once("open", () => resolve(new InspectorSession(ws)));
      ws.once("error", reject);
    });
  }

  private send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The node's process.memoryUsage(), evaluated on its main thread. */
  async memoryUsage(): Promise<NodeMemory> {
    const r = await this.send<{ result: { value?: string }; exceptionDetails?: unknown }>("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    if (r.exceptionDetails !== undefined || typeof r.result.value !== "string") {
      throw new Error(`inspector: process.memoryUsage() failed: ${JSON.stringify(r.exceptionDetails)}`);
    }
    return JSON.parse(r.result.value) as NodeMemory;
  }

  /** A full GC of the main heap, then process.memoryUsage(): heapUsed is then the live heap. */
  async afterFullGc(): Promise<NodeMemory> {
    await this.send("HeapProfiler.collectGarbage");
    return this.memoryUsage();
  }

  /** Writes a heap snapshot of the main thread to `file` (V8 runs a full GC first); resolves when it is on disk. */
  async heapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.chunkSink = (c) => out.write(c);
    try {
      await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
    } finally {
      this.chunkSink = null;
      await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}
