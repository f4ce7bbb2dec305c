import { AbiCoder, type EventFragment, zeroPadValue } from "ethers";
import { describe, expect, it } from "vitest";
import {
  marketEventName,
  marketEventTopic,
  marketInterface,
  parseMarketLog,
} from "../../../services/runtime/chain/market.js";

/** A sample value for an ABI type (enough for the market's event parameters). */
function sample(type: string, i: number): unknown {
  if (type.endsWith("[]")) return [sample(type.slice(0, -2), i), sample(type.slice(0, -2), i + 1)];
  if (type === "address") return zeroPadValue(`0x${(0xa0 + i).toString(16)}`, 20);
  if (type === "bool") return i % 2 === 0;
  if (type === "string") return `uri-${i}`;
  if (type === "bytes") return `0x${"ab".repeat(i + 1)}`;
  if (type.startsWith("bytes"))
    return zeroPadValue(`0x${(i + 1).toString(16).padStart(2, "0")}`, Number(type.slice(5)));
  if (type.startsWith("uint") || type.startsWith("int")) return BigInt(100 + i);
  throw new Error(`no sample for ${type}`);
}

describe("parseMarketLog (topic table instead of ethers' per-log signature hashing)", () => {
  const events: EventFragment[] = [];
  marketInterface.forEachEvent((f) => events.push(f));

  it("decodes every market event exactly as Interface.parseLog does", () => {
    expect(events.length).toBeGreaterThan(10);
    for (const f of events) {
      const values = f.inputs.map((p, i) => sample(p.type, i));
      const log = marketInterface.encodeEventLog(f, values);
      const ours = parseMarketLog(log);
      const theirs = marketInterface.parseLog(log);
      expect(ours?.name, f.format()).toBe(theirs?.name);
      expect(ours?.topic).toBe(theirs?.topic);
      expect(ours?.signature).toBe(theirs?.signature);
      expect(ours?.args.toArray(true)).toEqual(theirs?.args.toArray(true));
      // upper-case hex topic (as some nodes print it) finds the same event
      expect(
        parseMarketLog({ ...log, topics: [log.topics[0].toUpperCase().replace("0X", "0x"), ...log.topics.slice(1)] })
          ?.name,
      ).toBe(f.name);
    }
  });

  it("returns null for a log that is not the market's or does not decode", () => {
    const other = { topics: [zeroPadValue("0x01", 32)], data: "0x" };
    expect(parseMarketLog(other)).toBeNull();
    expect(parseMarketLog({ topics: [], data: "0x" })).toBeNull();
    const f = events.find((e) => e.inputs.some((p) => !p.indexed)) as EventFragment;
    const log = marketInterface.encodeEventLog(
      f,
      f.inputs.map((p, i) => sample(p.type, i)),
    );
    expect(parseMarketLog({ ...log, data: AbiCoder.defaultAbiCoder().encode(["uint8"], [1]).slice(0, 10) })).toBeNull();
  });

  it("names an event by its topic and a topic by its event name, without decoding", () => {
    for (const f of events) {
      expect(marketEventTopic(f.name)).toBe(f.topicHash);
      expect(marketEventName(f.topicHash)).toBe(f.name);
      expect(marketEventName(f.topicHash.toUpperCase().replace("0X", "0x"))).toBe(f.name);
    }
    expect(marketEventName(undefined)).toBeUndefined();
    expect(marketEventName(zeroPadValue("0x01", 32))).toBeUndefined();
    expect(() => marketEventTopic("NoSuchEvent")).toThrow(/NoSuchEvent/);
  });
});
