import { describe, expect, it } from "vitest";
import { InvalidParamsError } from "../../../../rpc/errors.js";
import {
  parseAddress,
  parseBlockTag,
  parseBlockTagOrHash,
  parseBool,
  parseCallRequest,
  parseData,
  parseFilter,
  parseHash,
  parseHashArray,
  parseParams,
  parseQuantity,
  parseStateOverride,
  parseUint64,
} from "../../../../rpc/params.js";

const ADDR = `0x${"Ab".repeat(20)}`;
const HASH = `0x${"cD".repeat(32)}`;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidParamsError);
    return (e as Error).message;
  }
  throw new Error("expected an InvalidParamsError");
}

describe("scalar validators", () => {
  it("address: any case → lowercase; geth wording for errors", () => {
    expect(parseAddress(ADDR)).toBe(ADDR.toLowerCase());
    expect(parseAddress(`0X${"ab".repeat(20)}`)).toBe(`0x${"ab".repeat(20)}`);
    expect(reason(() => parseAddress(`0x${"ab".repeat(19)}`))).toBe(
      "hex string has length 38, want 40 for common.Address",
    );
    expect(reason(() => parseAddress("ab".repeat(20)))).toBe("hex string without 0x prefix");
    expect(reason(() => parseAddress(`0x${"a".repeat(39)}`))).toBe("hex string of odd length");
    expect(reason(() => parseAddress(`0x${"zz".repeat(20)}`))).toBe("invalid hex string");
    expect(reason(() => parseAddress(1))).toBe(
      "json: cannot unmarshal non-string into Go value of type common.Address",
    );
    expect(reason(() => parseAddress(""))).toBe("hex string has length 0, want 40 for common.Address");
  });

  it("hash", () => {
    expect(parseHash(HASH)).toBe(HASH.toLowerCase());
    expect(reason(() => parseHash(ADDR))).toBe("hex string has length 40, want 64 for common.Hash");
    expect(parseHashArray([HASH])).toEqual([HASH.toLowerCase()]);
    expect(reason(() => parseHashArray([HASH, "0x1"]))).toBe("[1]: hex string of odd length");
  });

  it("quantity", () => {
    expect(parseQuantity("0x0")).toBe(0n);
    expect(parseQuantity("0xfF")).toBe(255n);
    expect(parseQuantity(`0x${"f".repeat(64)}`)).toBe(2n ** 256n - 1n);
    expect(reason(() => parseQuantity("0x01"))).toBe("hex number with leading zero digits");
    expect(reason(() => parseQuantity("0x00"))).toBe("hex number with leading zero digits");
    expect(reason(() => parseQuantity("0x"))).toBe('hex string "0x"');
    expect(reason(() => parseQuantity(""))).toBe("empty hex string");
    expect(reason(() => parseQuantity("12"))).toBe("hex string without 0x prefix");
    expect(reason(() => parseQuantity("0xg"))).toBe("invalid hex string");
    expect(reason(() => parseQuantity(`0x1${"0".repeat(64)}`))).toBe("hex number > 256 bits");
    expect(reason(() => parseQuantity(12))).toBe("json: cannot unmarshal non-string into Go value of type hexutil.Big");
    expect(parseUint64("0xffffffffffffffff")).toBe(2n ** 64n - 1n);
    expect(reason(() => parseUint64("0x10000000000000000"))).toBe("hex number > 64 bits");
  });

  it("data", () => {
    expect(parseData("0x")).toEqual(new Uint8Array(0));
    expect(parseData("")).toEqual(new Uint8Array(0));
    expect(parseData("0xDEad")).toEqual(new Uint8Array([0xde, 0xad]));
    expect(reason(() => parseData("0xabc"))).toBe("hex string of odd length");
    expect(reason(() => parseData("dead"))).toBe("hex string without 0x prefix");
    expect(reason(() => parseData("0xzz"))).toBe("invalid hex string");
  });

  it("bool", () => {
    expect(parseBool(true)).toBe(true);
    expect(reason(() => parseBool("true"))).toBe("json: cannot unmarshal string into Go value of type bool");
  });
});

describe("blocks", () => {
  it("blockTag", () => {
    for (const tag of ["latest", "earliest", "pending", "safe", "finalized"]) {
      expect(parseBlockTag(tag)).toEqual({ kind: "tag", tag });
    }
    expect(parseBlockTag("0x10")).toEqual({ kind: "number", number: 16n });
    expect(reason(() => parseBlockTag("0x8000000000000000"))).toBe("block number larger than int64");
    expect(reason(() => parseBlockTag("newest"))).toBe("hex string without 0x prefix");
    expect(reason(() => parseBlockTag("0x01"))).toBe("hex number with leading zero digits");
    expect(reason(() => parseBlockTag(HASH))).toBe("hex number > 64 bits");
  });

  it("blockTagOrHash (EIP-1898)", () => {
    expect(parseBlockTagOrHash("latest")).toEqual({ kind: "tag", tag: "latest" });
    expect(parseBlockTagOrHash("0x5")).toEqual({ kind: "number", number: 5n });
    expect(parseBlockTagOrHash(HASH)).toEqual({ kind: "hash", hash: HASH.toLowerCase() });
    expect(parseBlockTagOrHash({ blockNumber: "0x5" })).toEqual({ kind: "number", number: 5n });
    expect(parseBlockTagOrHash({ blockNumber: "safe" })).toEqual({ kind: "tag", tag: "safe" });
    expect(parseBlockTagOrHash({ blockHash: HASH })).toEqual({ kind: "hash", hash: HASH.toLowerCase() });
    expect(parseBlockTagOrHash({ blockHash: HASH, requireCanonical: true })).toEqual({
      kind: "hash",
      hash: HASH.toLowerCase(),
      requireCanonical: true,
    });
    expect(reason(() => parseBlockTagOrHash({ blockHash: HASH, blockNumber: "0x1" }))).toBe(
      "cannot specify both BlockHash and BlockNumber, choose one or the other",
    );
    expect(reason(() => parseBlockTagOrHash({}))).toBe("invalid arguments; neither block nor hash specified");
    expect(reason(() => parseBlockTagOrHash({ blockHash: "0x12" }))).toBe(
      "blockHash: hex string has length 2, want 64 for common.Hash",
    );
    expect(reason(() => parseBlockTagOrHash({ blockHash: HASH, requireCanonical: "yes" }))).toBe(
      "requireCanonical: json: cannot unmarshal string into Go value of type bool",
    );
  });
});

describe("callRequest", () => {
  it("converts every field", () => {
    const req = parseCallRequest({
      from: ADDR,
      to: ADDR,
      gas: "0x5208",
      gasPrice: "0x1",
      maxFeePerGas: "0x2",
      maxPriorityFeePerGas: "0x3",
      value: "0xde0b6b3a7640000",
      input: "0x1234",
      nonce: "0x7",
      accessList: [{ address: ADDR, storageKeys: [HASH] }],
      type: "0x2",
      chainId: "0x539",
      unknownField: { ignored: true },
    });
    expect(req).toEqual({
      from: ADDR.toLowerCase(),
      to: ADDR.toLowerCase(),
      gas: 21000n,
      gasPrice: 1n,
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 3n,
      value: 10n ** 18n,
      data: new Uint8Array([0x12, 0x34]),
      nonce: 7n,
      accessList: [{ address: ADDR.toLowerCase(), storageKeys: [HASH.toLowerCase()] }],
      type: 2n,
      chainId: 1337n,
    });
  });

  it("data/input, null fields, contract creation, errors", () => {
    expect(parseCallRequest({ data: "0x01" }).data).toEqual(new Uint8Array([1]));
    expect(parseCallRequest({ data: "0x01", input: "0x01" }).data).toEqual(new Uint8Array([1]));
    expect(reason(() => parseCallRequest({ data: "0x01", input: "0x02" }))).toBe(
      'both "data" and "input" are set and not equal',
    );
    expect(parseCallRequest({ to: null, gas: null })).toEqual({ to: null });
    expect(parseCallRequest({})).toEqual({});
    expect(reason(() => parseCallRequest({ gas: 21000 }))).toBe(
      "gas: json: cannot unmarshal non-string into Go value of type hexutil.Uint64",
    );
    expect(reason(() => parseCallRequest({ value: "0x01" }))).toBe("value: hex number with leading zero digits");
    expect(reason(() => parseCallRequest({ accessList: [{ address: ADDR, storageKeys: ["0x1"] }] }))).toBe(
      "accessList: [0]: storageKeys: [0]: hex string of odd length",
    );
    expect(reason(() => parseCallRequest("0x"))).toBe(
      "json: cannot unmarshal string into Go value of type TransactionArgs",
    );
  });
});

describe("filter", () => {
  it("normalises addresses and topics", () => {
    expect(
      parseFilter({ fromBlock: "0x1", toBlock: "latest", address: ADDR, topics: [HASH, null, [HASH, HASH]] }),
    ).toEqual({
      fromBlock: { kind: "number", number: 1n },
      toBlock: { kind: "tag", tag: "latest" },
      address: [ADDR.toLowerCase()],
      topics: [HASH.toLowerCase(), null, [HASH.toLowerCase(), HASH.toLowerCase()]],
    });
    expect(parseFilter({ address: [ADDR, ADDR], topics: [[HASH, null]] })).toEqual({
      address: [ADDR.toLowerCase(), ADDR.toLowerCase()],
      topics: [null],
    });
    expect(parseFilter({ blockHash: HASH })).toEqual({ blockHash: HASH.toLowerCase() });
  });

  it("rejects bad filters", () => {
    expect(reason(() => parseFilter({ blockHash: HASH, fromBlock: "0x1" }))).toBe(
      "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other",
    );
    expect(reason(() => parseFilter({ topics: [null, null, null, null, null] }))).toBe("exceed max topics");
    expect(reason(() => parseFilter({ topics: [HASH, "0x12"] }))).toBe(
      "topics[1]: hex string has length 2, want 64 for common.Hash",
    );
    expect(reason(() => parseFilter({ address: [ADDR, "0x1"] }))).toBe("address[1]: hex string of odd length");
    expect(reason(() => parseFilter({ fromBlock: "0x01" }))).toBe("fromBlock: hex number with leading zero digits");
  });
});

describe("stateOverride", () => {
  it("converts accounts keyed by lowercase address", () => {
    const slot = `0x${"00".repeat(31)}01`;
    expect(
      parseStateOverride({
        [ADDR]: { balance: "0x10", nonce: "0x1", code: "0x6000", stateDiff: { [slot]: HASH } },
      }),
    ).toEqual({
      [ADDR.toLowerCase()]: {
        balance: 16n,
        nonce: 1n,
        code: new Uint8Array([0x60, 0x00]),
        stateDiff: { [slot]: HASH.toLowerCase() },
      },
    });
  });

  it("rejects state + stateDiff, bad keys and duplicates", () => {
    const a = ADDR.toLowerCase();
    expect(reason(() => parseStateOverride({ [ADDR]: { state: {}, stateDiff: {} } }))).toBe(
      `${a}: has both 'state' and 'stateDiff'`,
    );
    expect(reason(() => parseStateOverride({ "0x12": {} }))).toBe(
      "0x12: hex string has length 2, want 40 for common.Address",
    );
    expect(reason(() => parseStateOverride({ [ADDR]: {}, [a]: {} }))).toBe(`duplicate override for account ${a}`);
    expect(reason(() => parseStateOverride({ [ADDR]: { state: { [HASH]: "0x1" } } }))).toMatch(
      /^0xabab.*: state: 0xcdcd.*: hex string of odd length$/,
    );
  });
});

describe("parseParams", () => {
  const defs = [
    { name: "address", type: "address" },
    { name: "block", type: "blockTagOrHash", optional: true },
  ] as const;

  it("converts, fills missing optionals with undefined, treats null optionals as missing", () => {
    expect(parseParams(defs, [ADDR])).toEqual([ADDR.toLowerCase(), undefined]);
    expect(parseParams(defs, [ADDR, null])).toEqual([ADDR.toLowerCase(), undefined]);
    expect(parseParams(defs, [ADDR, "latest"])).toEqual([ADDR.toLowerCase(), { kind: "tag", tag: "latest" }]);
    expect(parseParams([], undefined)).toEqual([]);
    expect(parseParams([], null)).toEqual([]);
    expect(parseParams([{ name: "x", type: "any" }], [null])).toEqual([null]);
  });

  it("geth error wording", () => {
    expect(reason(() => parseParams(defs, []))).toBe("missing value for required argument 0");
    expect(reason(() => parseParams(defs, [null]))).toBe("missing value for required argument 0");
    expect(reason(() => parseParams(defs, [ADDR, "latest", 1]))).toBe("too many arguments, want at most 2");
    expect(reason(() => parseParams(defs, { address: ADDR }))).toBe("non-array args");
    expect(reason(() => parseParams(defs, "0x"))).toBe("non-array args");
    expect(reason(() => parseParams(defs, [ADDR, "0x01"]))).toBe(
      "invalid argument 1 (block): hex number with leading zero digits",
    );
  });
});
