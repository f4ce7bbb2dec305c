import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { promSeries } from "../../../../bench/soakProc.js";
import { rpc, startInProcessNode, type TestNode } from "./helpers.js";

/**
 * A simulation worker's V8 heap is its own isolate: neither process.memoryUsage() nor prom-client's
 * nodejs_heap_* (the main isolate) include it, yet it is in the process's RSS. The worker reports it
 * (on start, then every few seconds) and /metrics exports it per worker (issue 14's soak reads it).
 */
describe("/metrics: the simulation workers' heaps", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startInProcessNode({ rpc: { evmWorkers: 1 } });
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("exports each worker's used and total heap bytes once it has started", async () => {
    // A job goes only to a ready worker, which posts its heap right after "ready": by the time the
    // eth_call's answer (posted later on the same port) is back, the report has been taken in.
    await rpc(node.url, "eth_call", [{ to: "0x0000000000000000000000000000000000000001", data: "0x" }, "latest"]);
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const series = promSeries(text, "azora_rpc_simulation_worker_heap_bytes");
    const of = (labels: string) => series.find((x) => x.labels === labels)?.value;
    const total = of('worker="0",kind="total"');
    const used = of('worker="0",kind="used"');
    expect(total).toBeGreaterThan(1_000_000);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(total as number);
  });
});
