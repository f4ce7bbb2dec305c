import { type TransactionReceipt, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ipfsURIToPath, type StorageService } from "../../services/storage/index.js";
import { collectionAddress, contractAt, ledgerProvider, NFT_REGISTRY_ADDRESS } from "../ledger/helpers.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import { bodyOf, jsonOf, pngBytes, startStorage } from "./fixtures.js";

/**
 * NFT metadata the native NFT module (0x…0A03) stores resolves through the gateway, as a wallet or market
 * would: upload the image, upload metadata naming it by `ipfs://`, mint with the metadata's `ipfs://` URI,
 * then read tokenURI from the chain and follow it — JSON, then the image it names.
 */

let node: Awaited<ReturnType<typeof startInProcessNode>>;
let storage: StorageService;

beforeAll(async () => {
  [node, storage] = await Promise.all([startInProcessNode(), startStorage()]);
});

afterAll(async () => {
  await Promise.all([node?.cleanup(), storage?.close()]);
});

async function upload(name: string, body: Uint8Array): Promise<{ cid: string; wrapper: string }> {
  const res = await fetch(`${storage.url}/upload?filename=${encodeURIComponent(name)}`, { method: "POST", body });
  expect(res.status).toBe(200);
  return jsonOf(res);
}

describe("NFT metadata through the gateway", () => {
  it("mints with an ipfs:// URI and fetches the JSON and the image it names", async () => {
    const provider = ledgerProvider(node.url);
    try {
      const alice = new Wallet(DEV_KEYS[0], provider);
      const image = pngBytes(16, 16);
      const img = await upload("image.png", image);
      const metadata = {
        name: "Azora Course Certificate #1",
        description: "Completed: Consensus 101",
        image: `ipfs://${img.wrapper}/image.png`,
        attributes: [{ trait_type: "grade", value: "A" }],
      };
      const meta = await upload("metadata.json", new TextEncoder().encode(JSON.stringify(metadata)));
      const tokenURI = `ipfs://${meta.wrapper}/metadata.json`;

      const registry = contractAt(NFT_REGISTRY_ADDRESS, "INFTRegistry", alice);
      await (await registry.createCollection("Azora Certificates", "AZCERT", alice.address, 0n)).wait();
      const collection = contractAt(collectionAddress(await registry.collectionCount()), "IAzoraCollection", alice);
      const minted = (await (await collection.mint(alice.address, tokenURI)).wait()) as TransactionReceipt;
      expect(minted.status).toBe(1);
      const id = await collection.totalSupply();

      const onChain: string = await collection.tokenURI(id);
      expect(onChain).toBe(tokenURI);

      const metaRes = await fetch(`${storage.url}${ipfsURIToPath(onChain)}`);
      expect(metaRes.status).toBe(200);
      expect(metaRes.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(metaRes.headers.get("etag")).toBe(`"${meta.cid}"`);
      const got = await jsonOf(metaRes);
      expect(got).toEqual(metadata);

      const imgRes = await fetch(`${storage.url}${ipfsURIToPath(got.image)}`);
      expect(imgRes.status).toBe(200);
      expect(imgRes.headers.get("content-type")).toBe("image/png");
      expect(imgRes.headers.get("etag")).toBe(`"${img.cid}"`);
      expect(Buffer.from(await bodyOf(imgRes)).equals(Buffer.from(image))).toBe(true);
    } finally {
      provider.destroy();
    }
  });

  it("ipfsURIToPath accepts the forms token URIs use and refuses others", () => {
    const cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    expect(ipfsURIToPath(`ipfs://${cid}`)).toBe(`/ipfs/${cid}`);
    expect(ipfsURIToPath(`ipfs://${cid}/a/b.json`)).toBe(`/ipfs/${cid}/a/b.json`);
    expect(ipfsURIToPath(`ipfs://ipfs/${cid}/x`)).toBe(`/ipfs/${cid}/x`);
    expect(() => ipfsURIToPath("https://example.com/x")).toThrow(/STORAGE_INVALID_CID/);
    expect(() => ipfsURIToPath("ipfs://not-a-cid")).toThrow(/STORAGE_INVALID_CID/);
  });
});
