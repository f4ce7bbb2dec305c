import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { Bloom, encodeReceipt } from "@ethereumjs/vm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCommit, encodeCommit } from "../../../consensus/commit.js";
import {
  type Block,
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeBody,
  encodeHeader,
  headerToRLPInput,
} from "../../../runtime/primitives/block.js";
import { CodecError } from "../../../runtime/primitives/codecError.js";
import {
  decodeReceipts,
  encodeReceiptForRoot,
  encodeReceipts,
  type Log,
  logsBloom,
  type Receipt,
  recurringBloomInput,
} from "../../../runtime/primitives/receipt.js";
import { rlpEncode } from "../../../runtime/primitives/rlpCodec.js";

const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const uint = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

const headerArb = fc.record({
  parentHash: bytesN(32),
  number: uint,
  timestamp: uint,
  stateRoot: bytesN(32),
  transactionsRoot: bytesN(32),
  receiptsRoot: bytesN(32),
  logsBloom: bytesN(256),
  gasLimit: uint,
  gasUsed: uint,
  baseFeePerGas: uint,
  miner: bytesN(20),
  proposer: bytesN(20),
  validatorsHash: bytesN(32),
  lastCommitHash: bytesN(32),
  evidenceHash: bytesN(32),
});
const logArb: fc.Arbitrary<Log> = fc.tuple(
  bytesN(20),
  fc.array(bytesN(32), { maxLength: 4 }),
  fc.uint8Array({ maxLength: 64 }),
);
const receiptFields = {
  type: fc.constantFrom(0, 1, 2),
  status: fc.constantFrom(0 as const, 1 as const),
  cumulativeGasUsed: uint,
  gasUsed: uint,
  logs: fc.array(logArb, { maxLength: 3 }),
  contractAddress: fc.option(bytesN(20), { nil: null }),
  effectiveGasPrice: uint,
  from: bytesN(20),
};
const receiptArb: fc.Arbitrary<Receipt> = fc.record(receiptFields);

/** Decoders may only ever throw CodecError, whatever the input. */
function onlyCodecErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
  }
}

describe("codecs", () => {
  it("header: decode(encode(h)) = h", () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        expect(decodeHeader(encodeHeader(h))).toEqual(h);
      }),
    );
  });

  it("block: decode(encode(b)) = b", () => {
    const blockArb: fc.Arbitrary<Block> = fc.record({
      header: headerArb,
      body: fc.record({
        transactions: fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }),
        lastCommit: fc.uint8Array({ maxLength: 100 }),
        evidence: fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 2 }),
      }),
    });
    fc.assert(
      fc.property(blockArb, (b) => {
        expect(decodeBlock(encodeBlock(b))).toEqual(b);
      }),
    );
  });

  it("header, body and block encodings are byte for byte the plain RLP of their fields", () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    const bodyArb = fc.record({
      transactions: fc.array(fc.oneof(fc.uint8Array({ maxLength: 2 }), fc.uint8Array({ maxLength: 400 })), {
        maxLength: 40,
      }),
      lastCommit: fc.oneof(fc.uint8Array({ maxLength: 1 }), fc.uint8Array({ maxLength: 300 })),
      evidence: fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(headerArb, bodyArb, (header, body) => {
        const plainHeader = rlpEncode(headerToRLPInput(header));
        const plainBody = rlpEncode([body.transactions, body.lastCommit, body.evidence]);
        expect(hex(encodeHeader(header))).toBe(hex(plainHeader));
        expect(hex(encodeBody(body))).toBe(hex(plainBody));
        expect(hex(encodeBlock({ header, body }))).toBe(
          hex(rlpEncode([headerToRLPInput(header), [body.transactions, body.lastCommit, body.evidence]])),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("receipts: the storage encoding is byte for byte the plain RLP of the fields (what the database holds)", () => {
    const u = (v: bigint) => bigIntToUnpaddedBytes(v);
    const bigLogArb: fc.Arbitrary<Log> = fc.tuple(
      bytesN(20),
      fc.array(bytesN(32), { maxLength: 4 }),
      fc.oneof(fc.uint8Array({ maxLength: 3 }), fc.uint8Array({ minLength: 50, maxLength: 600 })),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ...receiptFields,
            type: fc.integer({ min: 0, max: 0x7f }),
            logs: fc.array(bigLogArb, { maxLength: 6 }),
          }),
          { maxLength: 12 },
        ),
        (rs) => {
          const plain = rlpEncode(
            rs.map((r) => [
              u(BigInt(r.type)),
              u(BigInt(r.status)),
              u(r.cumulativeGasUsed),
              u(r.gasUsed),
              r.logs.map((l) => [l[0], l[1], l[2]]),
              r.contractAddress ?? new Uint8Array(0),
              u(r.effectiveGasPrice),
              r.from,
            ]),
          );
          // Half of the receipts had their root leaf encoded first (as sealing does): persisting
          // reuses its logs' encoding, and the storage bytes stay the plain ones.
          for (let i = 0; i < rs.length; i += 2) encodeReceiptForRoot(rs[i]);
          expect(Buffer.from(encodeReceipts(rs)).toString("hex")).toBe(Buffer.from(plain).toString("hex"));
          expect(Buffer.from(encodeReceipts(rs)).toString("hex")).toBe(Buffer.from(plain).toString("hex"));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("receipts: decode(encode(rs)) = rs", () => {
    fc.assert(
      fc.property(fc.array(receiptArb, { maxLength: 4 }), (rs) => {
        expect(decodeReceipts(encodeReceipts(rs))).toEqual(rs);
      }),
    );
  });

  it("commit: decode(encode(c)) = c", () => {
    const commitArb = fc.record({
      height: uint,
      round: fc.nat({ max: 1000 }),
      blockHash: bytesN(32),
      signatures: fc.array(fc.record({ validatorIndex: fc.nat({ max: 100 }), signature: bytesN(64) }), {
        maxLength: 5,
      }),
    });
    fc.assert(
      fc.property(commitArb, (c) => {
        expect(decodeCommit(encodeCommit(c))).toEqual(c);
      }),
    );
  });

  it("decoders throw only CodecError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        onlyCodecErrors(() => decodeHeader(bytes));
        onlyCodecErrors(() => decodeBlock(bytes));
        onlyCodecErrors(() => decodeReceipts(bytes));
        onlyCodecErrors(() => decodeCommit(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("decoders reject non-canonical integers (leading zero byte)", () => {
    const h = fc.sample(headerArb, { numRuns: 1, seed: 7 })[0];
    const fields = headerToRLPInput(h);
    fields[1] = Uint8Array.of(0, 1); // number 1 written with a leading zero byte
    expect(() => decodeHeader(rlpEncode(fields))).toThrow(CodecError);
  });

  it("logs bloom matches ethereumjs's Bloom", () => {
    fc.assert(
      fc.property(fc.array(logArb, { maxLength: 5 }), (logs) => {
        const ref = new Bloom();
        for (const [address, topics] of logs) {
          ref.add(address);
          for (const t of topics) ref.add(t);
        }
        expect(Buffer.from(logsBloom(logs)).toString("hex")).toBe(Buffer.from(ref.bitvector).toString("hex"));
      }),
    );
  });

  it("logs bloom with recurring inputs (bits kept per array) matches ethereumjs's Bloom, also for an array changed after", () => {
    // Registered arrays stand for module addresses and event topics; one of each is overwritten
    // after registration (with random bytes, or zeros): its kept bits must not be used then.
    const addresses = [0, 1, 2].map((i) => recurringBloomInput(Uint8Array.from({ length: 20 }, (_, j) => i * 20 + j)));
    const topics = [0, 1, 2].map((i) =>
      recurringBloomInput(Uint8Array.from({ length: 32 }, (_, j) => 99 - i * 32 - j)),
    );
    const pick = <T>(own: fc.Arbitrary<T>, known: T[]) => fc.oneof(own, fc.constantFrom(...known));
    const mixedLog = fc.tuple(
      pick(bytesN(20), addresses),
      fc.array(pick(bytesN(32), topics), { maxLength: 4 }),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.array(mixedLog, { maxLength: 5 }), bytesN(20), bytesN(32), (logs, newAddress, newTopic) => {
        addresses[2].set(newAddress);
        topics[2].set(newTopic);
        const ref = new Bloom();
        for (const [address, ts] of logs) {
          ref.add(address);
          for (const t of ts) ref.add(t);
        }
        expect(Buffer.from(logsBloom(logs as Log[])).toString("hex")).toBe(Buffer.from(ref.bitvector).toString("hex"));
      }),
    );
  });

  it("receipt root leaves match ethereumjs's encodeReceipt", () => {
    fc.assert(
      // Real receipts have cumulativeGasUsed ≥ 21000; ethereumjs writes 0 as 0x00 (non-canonical), geth as 0x80.
      fc.property(
        receiptArb.filter((r) => r.cumulativeGasUsed >= 21000n),
        (r) => {
          const theirs = encodeReceipt(
            {
              status: r.status,
              cumulativeBlockGasUsed: r.cumulativeGasUsed,
              bitvector: logsBloom(r.logs),
              logs: r.logs,
            },
            r.type as 0 | 1 | 2,
          );
          expect(Buffer.from(encodeReceiptForRoot(r)).toString("hex")).toBe(Buffer.from(theirs).toString("hex"));
          // Again with the logs' encoding kept from the first call and from the storage encoding.
          encodeReceipts([r]);
          expect(Buffer.from(encodeReceiptForRoot(r)).toString("hex")).toBe(Buffer.from(theirs).toString("hex"));
        },
      ),
    );
  });
});
