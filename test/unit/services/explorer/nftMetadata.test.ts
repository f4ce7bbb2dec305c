import { describe, expect, it } from "vitest";
import { decodeString } from "../../../../services/explorer/http/tokenRoutes.js";
import {
  cleanText,
  dataUriJson,
  METADATA_LIMITS,
  MetadataResolver,
  sanitizeMetadata,
  viaGateway,
} from "../../../../services/explorer/nftMetadata.js";

const GW = "http://127.0.0.1:8080";
const CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

describe("NFT metadata sanitising", () => {
  it("maps ipfs:// URIs onto the gateway and keeps only http(s) URLs already on its origin", () => {
    expect(viaGateway(`ipfs://${CID}`, GW)).toBe(`${GW}/ipfs/${CID}`);
    expect(viaGateway(`ipfs://ipfs/${CID}/img/1.png`, GW)).toBe(`${GW}/ipfs/${CID}/img/1.png`);
    expect(viaGateway(`/ipfs/${CID}/a%20b.png`, `${GW}/`)).toBe(`${GW}/ipfs/${CID}/a%20b.png`);
    // path segments cannot climb out of /ipfs/<cid>
    expect(viaGateway(`ipfs://${CID}/../../admin`, GW)).toBe(`${GW}/ipfs/${CID}/admin`);
    expect(viaGateway(`ipfs://${CID}/%2e%2e/%2E%2E/admin`, GW)).toBe(`${GW}/ipfs/${CID}/admin`);
    expect(viaGateway(`ipfs://${CID}/a%2Fb`, GW)).toBe(`${GW}/ipfs/${CID}/a%2Fb`);
    expect(viaGateway(`${GW}/ipfs/${CID}`, GW)).toBe(`${GW}/ipfs/${CID}`);
    for (const other of [
      "https://evil.example/x.png",
      "http://127.0.0.1:8081/ipfs/x",
      "javascript:alert(1)",
      "data:image/svg+xml,<svg onload=alert(1)>",
      "file:///etc/passwd",
      `ipfs://${CID}?x=1`,
    ])
      expect(viaGateway(other, GW), other).toBeNull();
    expect(viaGateway(`ipfs://${CID}`, undefined)).toBeNull();
    expect(viaGateway(`ipfs://${CID}/${"a".repeat(METADATA_LIMITS.maxUri)}`, GW)).toBeNull();
  });

  it("keeps text as bounded plain text without control or bidi characters", () => {
    expect(cleanText("  Owl\u202e#1\u0000\n ", 100)).toBe("Owl#1");
    expect(cleanText("a\tb\nc", 100)).toBe("a\tb\nc");
    expect(cleanText("x".repeat(300), 200)).toHaveLength(200);
    expect(cleanText(42, 100)).toBeNull();
    expect(cleanText("   ", 100)).toBeNull();
  });

  it("keeps name, description and a gateway image; drops everything else", () => {
    expect(
      sanitizeMetadata(
        { name: "<b>Owl</b>", description: "d", image: `ipfs://${CID}`, animation_url: "https://x", extra: {} },
        GW,
      ),
    ).toEqual({ name: "<b>Owl</b>", description: "d", image: `ipfs://${CID}`, imageUrl: `${GW}/ipfs/${CID}` });
    expect(sanitizeMetadata({ name: ["x"], image: "https://tracker.example/p.gif" }, GW)).toEqual({
      name: null,
      description: null,
      image: "https://tracker.example/p.gif",
      imageUrl: null,
    });
    expect(sanitizeMetadata([1, 2], GW).name).toBeNull();
    expect(sanitizeMetadata(null, GW).imageUrl).toBeNull();
  });

  it("reads on-chain data: URIs", () => {
    const b64 = Buffer.from(JSON.stringify({ name: "On chain" })).toString("base64");
    expect(dataUriJson(`data:application/json;base64,${b64}`)).toEqual({ name: "On chain" });
    expect(dataUriJson(`data:application/json,${encodeURIComponent('{"name":"x"}')}`)).toEqual({ name: "x" });
    expect(dataUriJson(`ipfs://${CID}`)).toBeNull();
  });

  it("decodes an ABI string return value and refuses truncated data", () => {
    const enc = `0x${"20".padStart(64, "0")}${"3".padStart(64, "0")}${Buffer.from("abc").toString("hex").padEnd(64, "0")}`;
    expect(decodeString(enc)).toBe("abc");
    expect(() => decodeString(enc.slice(0, 130))).toThrow();
  });
});

describe("MetadataResolver", () => {
  const json = (body: string, init: ResponseInit = {}) => new Response(body, { status: 200, ...init });
  const resolver = (over: { uri?: string | null; fetch?: (url: string) => Promise<Response>; gateway?: string }) => {
    const fetched: string[] = [];
    let now = 0;
    const r = new MetadataResolver(
      {
        gateway: "gateway" in over ? over.gateway : GW,
        tokenUri: async () => (over.uri === undefined ? `ipfs://${CID}` : over.uri),
        fetch: (async (url: string) => {
          fetched.push(url);
          return (over.fetch ?? (async () => json(JSON.stringify({ name: "Owl", image: `ipfs://${CID}` }))))(url);
        }) as typeof fetch,
      },
      () => now,
    );
    return { r, fetched, advance: (ms: number) => (now += ms) };
  };

  it("fetches through the gateway once and caches; failures are cached briefly", async () => {
    const { r, fetched, advance } = resolver({});
    const m = await r.get("0xabc", "1");
    expect(m).toMatchObject({ name: "Owl", imageUrl: `${GW}/ipfs/${CID}`, problem: null });
    await r.get("0xABC", "1");
    expect(fetched).toEqual([`${GW}/ipfs/${CID}`]);
    advance(METADATA_LIMITS.okTtlMs);
    await r.get("0xabc", "1");
    expect(fetched).toHaveLength(2);

    // concurrent requests share one fetch
    const shared = resolver({});
    await Promise.all([shared.r.get("0xabc", "2"), shared.r.get("0xabc", "2"), shared.r.get("0xabc", "2")]);
    expect(shared.fetched).toHaveLength(1);

    const failing = resolver({ fetch: async () => new Response("nope", { status: 504 }) });
    expect((await failing.r.get("0xabc", "1")).problem).toBe("gateway answered HTTP 504");
    failing.advance(METADATA_LIMITS.failTtlMs);
    await failing.r.get("0xabc", "1");
    expect(failing.fetched).toHaveLength(2);
  });

  it("refuses oversized and non-JSON metadata, and fetches nothing without a gateway or off IPFS", async () => {
    const big = resolver({ fetch: async () => json(`{"name":"${"x".repeat(METADATA_LIMITS.maxBytes)}"}`) });
    expect((await big.r.get("0xabc", "1")).problem).toMatch(/larger than/);
    const declared = resolver({
      fetch: async () => json("{}", { headers: { "content-length": String(METADATA_LIMITS.maxBytes + 1) } }),
    });
    expect((await declared.r.get("0xabc", "1")).problem).toMatch(/larger than/);
    const html = resolver({ fetch: async () => json("<html>") });
    expect((await html.r.get("0xabc", "1")).problem).toBe("metadata is not JSON");

    const none = resolver({ gateway: undefined });
    expect(await none.r.get("0xabc", "1")).toMatchObject({
      tokenUri: `ipfs://${CID}`,
      problem: "no IPFS gateway configured",
    });
    const offIpfs = resolver({ uri: "http://169.254.169.254/latest/meta-data" });
    expect((await offIpfs.r.get("0xabc", "1")).problem).toBe("metadata is not on IPFS (not fetched)");
    expect([...none.fetched, ...offIpfs.fetched]).toEqual([]);
    expect((await resolver({ uri: null }).r.get("0xabc", "1")).problem).toBe("no token URI");
  });
});
