import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createNetworkMetrics, GossipAction } from "../../../../node/network/index.js";

describe("createNetworkMetrics", () => {
  it("exports gossip outcomes per topic, queue drops, peers and request-response results", async () => {
    const register = new Registry();
    const m = createNetworkMetrics(register);
    m.onGossipOutcome("vote", GossipAction.ACCEPT, null);
    m.onGossipOutcome("vote", GossipAction.REJECT, "VOTE_ERROR_BAD_SIGNATURE");
    m.onGossipQueueDrop("tx");
    m.setGossipQueueLength("tx", 7);
    m.setPeers(3);
    m.onReqResp("blocks", "outbound", "ok", 0.01);
    const text = await register.metrics();
    expect(text).toContain('azora_gossip_messages_total{topic="vote",result="accept"} 1');
    expect(text).toContain('azora_gossip_messages_total{topic="vote",result="reject"} 1');
    expect(text).toContain('azora_gossip_validation_error_total{topic="vote",error="VOTE_ERROR_BAD_SIGNATURE"} 1');
    expect(text).toContain('azora_gossip_queue_dropped_total{topic="tx"} 1');
    expect(text).toContain('azora_gossip_queue_length{topic="tx"} 7');
    expect(text).toContain("azora_network_peers 3");
    expect(text).toContain('azora_reqresp_requests_total{protocol="blocks",direction="outbound",result="ok"} 1');
  });
});
