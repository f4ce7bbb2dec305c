import { Interface } from "ethers";
import { describe, expect, it } from "vitest";
import { ArgError, functionsOf, parseArg, resultText } from "../../../../services/explorer/web/abiForm.js";

const ABI = [
  "function name() view returns (string)",
  "function balanceOf(address who) view returns (uint256)",
  "function quote(uint8 n, int16 d, bool up, bytes4 tag, bytes data, uint256[] xs, (address a, uint64 b) p) pure returns (uint256)",
  "function transfer(address to, uint256 v) returns (bool)",
  "function deposit() payable",
];

describe("contract tab ABI forms", () => {
  it("splits reads (view/pure) from writes", () => {
    const { reads, writes } = functionsOf(new Interface(ABI).fragments as never);
    expect(reads.map((f) => f.name)).toEqual(["balanceOf", "name", "quote"]);
    expect(writes.map((f) => f.name)).toEqual(["deposit", "transfer"]);
    expect(writes[0].payable).toBe(true);
  });

  it("parses typed arguments from text", () => {
    const q = new Interface(ABI).getFunction("quote")!;
    const [n, d, up, tag, data, xs, p] = q.inputs;
    expect(parseArg(n, " 255 ")).toBe(255n);
    expect(parseArg(n, "0xff")).toBe(255n);
    expect(parseArg(d, "-32768")).toBe(-32768n);
    expect(parseArg(up, "true")).toBe(true);
    expect(parseArg(up, "0")).toBe(false);
    expect(parseArg(tag, "0x01020304")).toBe("0x01020304");
    expect(parseArg(data, "0x")).toBe("0x");
    expect(parseArg(xs, '[1, "2", "0x3"]')).toEqual([1n, 2n, 3n]);
    expect(parseArg(p, '["0x00000000000000000000000000000000000000aa", 7]')).toEqual([
      "0x00000000000000000000000000000000000000AA",
      7n,
    ]);
    // what parseArg gives encodes
    const args = [n, d, up, tag, data, xs, p].map((x, i) =>
      parseArg(
        x,
        ["1", "-1", "false", "0xaabbccdd", "0x1234", "[]", '["0x00000000000000000000000000000000000000aa","1"]'][i],
      ),
    );
    expect(new Interface(ABI).encodeFunctionData(q, args)).toMatch(/^0x[0-9a-f]+$/);
  });

  it("refuses what does not fit the type, naming the parameter", () => {
    const q = new Interface(ABI).getFunction("quote")!;
    const [n, d, up, tag, data, xs] = q.inputs;
    const bad: [typeof n, string, RegExp][] = [
      [n, "256", /n: 256 is out of range for uint8/],
      [n, "-1", /out of range/],
      [n, "1.5", /not an integer/],
      [d, "40000", /out of range for int16/],
      [up, "yes", /expected true or false/],
      [tag, "0x0102", /expected 4 bytes/],
      [data, "zz", /expected 0x hex/],
      [xs, "1,2", /expected JSON/],
      [xs, '{"a":1}', /expected a JSON array/],
      [new Interface(ABI).getFunction("balanceOf")!.inputs[0], "0x12", /not an address/],
    ];
    for (const [p, text, why] of bad) expect(() => parseArg(p, text), text).toThrow(why);
    expect(() => parseArg(up, "yes")).toThrow(ArgError);
  });

  it("prints results: bigints in decimal, nested values as JSON", () => {
    const i = new Interface(["function f() view returns (uint256 a, string s, uint8[] xs)"]);
    const r = i.decodeFunctionResult("f", i.encodeFunctionResult("f", [2n ** 200n, "hi", [1, 2]]));
    expect(resultText(r[0])).toBe((2n ** 200n).toString());
    expect(resultText(r[1])).toBe("hi");
    expect(resultText(r[2])).toBe('["1","2"]');
  });
});
