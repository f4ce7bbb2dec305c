import { Interface, zeroPadValue } from "ethers";
import { describe, expect, it } from "vitest";
import { IEscrowAbi } from "../../../../contracts/artifacts/IEscrow.js";
import {
  decodeLog,
  decodeRevert,
  isNativeCollection,
  NATIVE_MODULES,
  transfersOfLog,
} from "../../../../services/explorer/decode.js";
import { stripMetadata } from "../../../../services/explorer/verify.js";

const A = "0x1111111111111111111111111111111111111111";
const B = "0x2222222222222222222222222222222222222222";
const OP = "0x3333333333333333333333333333333333333333";
const TOKEN = "0x4444444444444444444444444444444444444444";
const erc1155 = new Interface([
  "event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)",
  "event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)",
]);
const at = { address: TOKEN, txHash: `0x${"aa".repeat(32)}`, blockNumber: 5, logIndex: 2 };
const lower = (l: { topics: readonly string[]; data: string }) => ({
  ...at,
  topics: l.topics.map((t) => t.toLowerCase()),
  data: l.data,
});

describe("explorer decoding", () => {
  it("reads ERC-1155 single and batch transfers, one row per id", () => {
    const single = lower(erc1155.encodeEventLog("TransferSingle", [OP, A, B, 7n, 30n]));
    expect(transfersOfLog(single, 100)).toEqual([
      expect.objectContaining({ standard: "erc1155", from: A, to: B, tokenId: "7", amount: "30", batchIndex: 0 }),
    ]);
    const batch = lower(erc1155.encodeEventLog("TransferBatch", [OP, A, B, [1n, 2n], [10n, 20n]]));
    expect(transfersOfLog(batch, 100).map((t) => [t.tokenId, t.amount, t.batchIndex])).toEqual([
      ["1", "10", 0],
      ["2", "20", 1],
    ]);
  });

  it("tells ERC-20 from ERC-721 Transfer by the number of topics, and ignores malformed ones", () => {
    const topic0 = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
    const pad = (a: string) => zeroPadValue(a, 32);
    const erc20 = { ...at, topics: [topic0, pad(A), pad(B)], data: zeroPadValue("0x05", 32) };
    expect(transfersOfLog(erc20, 1)[0]).toMatchObject({ standard: "erc20", amount: "5", tokenId: null });
    const erc721 = { ...at, topics: [topic0, pad(A), pad(B), zeroPadValue("0x09", 32)], data: "0x" };
    expect(transfersOfLog(erc721, 1)[0]).toMatchObject({ standard: "erc721", tokenId: "9", amount: "1" });
    expect(transfersOfLog({ ...erc20, data: "0x" }, 1)).toEqual([]);
  });

  it("decodes a native module's event with its generated ABI", () => {
    const escrow = NATIVE_MODULES.find((m) => m.name === "Escrow");
    const iface = new Interface(IEscrowAbi as never);
    const log = iface.encodeEventLog("EscrowCreated", [3n, A, B, OP, TOKEN, 99n, 1234n, `0x${"00".repeat(32)}`]);
    const d = decodeLog(escrow?.address ?? "", [...log.topics], log.data);
    expect(d).toMatchObject({ name: "EscrowCreated", args: { id: "3", payer: A, payee: B, amount: "99" } });
    expect(isNativeCollection("0x000000000000000000000a030000000000000001")).toBe(true);
    expect(isNativeCollection("0x0000000000000000000000000000000000000a03")).toBe(false);
  });

  it("reads revert reasons and strips solc's CBOR metadata", () => {
    const err = new Interface(["error Error(string)"]).encodeErrorResult("Error", ["nope"]);
    expect(decodeRevert(err)).toBe("nope");
    expect(decodeRevert("0x")).toBeNull();
    // …a2 64 'ipfs' <34 bytes> 64 'solc' 43 <3 bytes> 0033: the last two bytes give the CBOR length (0x33).
    const cbor = `a264697066735822${"ab".repeat(34)}64736f6c6343000825`;
    expect(stripMetadata(`6080604052${cbor}0033`)).toBe("6080604052");
    expect(stripMetadata("6080604052")).toBe("6080604052");
  });
});
