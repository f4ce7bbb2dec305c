import { describe, expect, it } from "vitest";
import { perHeightCpu, type Samples } from "../../../bench/network/metrics.js";
import { createMetrics } from "../../../node/metrics.js";
import { CONSENSUS_STAGES, TxStageClock } from "../../../node/txStages.js";

function burn(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

describe("consensus stages on the node's stage clock", () => {
  it("a consensus section excludes the tx stages nested in it, and timeSync counts only its own call", async () => {
    const clock = new TxStageClock();
    await clock.time("verify_proposal", async () => {
      clock.add("execution", 1_000); // nested: claims 1 s, more than the section took
      burn(100_000);
    });
    clock.timeSync("gossip_in", () => burn(100_000));
    const c = clock.secondsByConsensusStage();
    expect(Object.keys(c)).toEqual([...CONSENSUS_STAGES]);
    expect(clock.secondsByStage().execution).toBe(1);
    expect(c.verify_proposal).toBe(0); // 1 s was charged inside it: nothing left of its own
    expect(c.gossip_in).toBeGreaterThan(0);
  });

  it("the node exports azora_consensus_stage_seconds_total for every consensus stage", async () => {
    const m = createMetrics();
    m.txStages.add("wal", 250);
    const text = await m.register.metrics();
    for (const stage of CONSENSUS_STAGES)
      expect(text).toContain(`azora_consensus_stage_seconds_total{stage="${stage}"}`);
    expect(text).toContain('azora_consensus_stage_seconds_total{stage="wal"} 0.25');
  });
});

describe("bench:network per-height CPU", () => {
  const node = (height: number, cpuS: number, wal: number, exec: number, txs: number): Samples =>
    new Map([
      ["azora_chain_head_height", height],
      ["azora_process_process_cpu_seconds_total", cpuS],
      ["azora_transactions_committed_total", txs],
      ['azora_consensus_stage_seconds_total{stage="wal"}', wal],
      ['azora_tx_stage_seconds_total{stage="execution"}', exec],
    ]);

  it("divides each node's CPU and stages by the heights it committed, then averages over the nodes", () => {
    const before = new Map([
      [0, node(100, 10, 1, 2, 0)],
      [1, node(100, 20, 1, 2, 0)],
      [2, node(100, 5, 0, 0, 0)], // committed nothing in the window: left out
    ]);
    const after = new Map([
      [0, node(110, 10.2, 1.01, 2.05, 50)], // 20 ms/height, wal 1, execution 5, 5 tx/height
      [1, node(120, 20.8, 1.04, 2.1, 100)], // 40 ms/height, wal 2, execution 5, 5 tx/height
      [2, node(100, 5.1, 0, 0, 0)],
    ]);
    const p = perHeightCpu(before, after);
    expect(p).not.toBeNull();
    expect(p?.nodes).toBe(2);
    expect(p?.heights).toBe(15);
    expect(p?.txsPerHeight).toBe(5);
    expect(p?.cpuMs).toBeCloseTo(30, 5);
    expect(p?.stagesMs.wal).toBeCloseTo(1.5, 5);
    expect(p?.stagesMs.execution).toBeCloseTo(5, 5);
    expect(p?.otherMs).toBeCloseTo(23.5, 5);
    expect(p?.byNode.map((n) => [n.node, n.cpuMs])).toEqual([
      [0, 20],
      [1, 40],
    ]);
  });
});
