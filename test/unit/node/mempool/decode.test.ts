import { RLP } from "@ethereumjs/rlp";
import { bigIntToUnpaddedBytes, bytesToBigInt, concatBytes, SECP256K1_ORDER } from "@ethereumjs/util";
import { getBytes, keccak256, SigningKey } from "ethers";
import { describe, expect, it } from "vitest";
import { decodeRawTransaction, MempoolErrorCode } from "../../../../node/mempool/index.js";
import {
  alice,
  bob,
  CHAIN_ID,
  DEV_KEYS,
  decodeCtx,
  expectMempoolError,
  GWEI,
  signRaw1559,
  signTx,
} from "./fixtures.js";

const decode = (raw: Uint8Array) => () => decodeRawTransaction(raw, decodeCtx);

describe("decodeRawTransaction: accepted types", () => {
  it.each([0, 1, 2] as const)("decodes a signed type-%i tx and normalises its fees", async (type) => {
    const raw = await signTx(alice, {
      type,
      nonce: 7,
      tip: 2n * GWEI,
      maxFee: 30n * GWEI,
      value: 5n,
      gasLimit: 30_000n,
    });
    const ptx = decodeRawTransaction(raw, decodeCtx);
    const fee = 30n * GWEI;
    expect(ptx.hash).toBe(keccak256(raw));
    expect(ptx.sender).toBe(alice.address.toLowerCase());
    expect(ptx.type).toBe(type);
    expect(ptx.nonce).toBe(7n);
    expect(ptx.gasLimit).toBe(30_000n);
    expect(ptx.maxFeePerGas).toBe(fee);
    expect(ptx.maxPriorityFeePerGas).toBe(type === 2 ? 2n * GWEI : fee);
    expect(ptx.value).toBe(5n);
    expect(ptx.cost).toBe(30_000n * fee + 5n);
    expect(ptx.size).toBe(raw.length);
    expect(ptx.raw).toBe(raw);
    expect(ptx.receivedAt).toBe(0);
  });
});

describe("decodeRawTransaction: EIP-7702 set-code (type 4)", () => {
  it("decodes a signed type-4 tx with its authorization list", async () => {
    const auth = await alice.authorize({ address: bob.address, nonce: 1, chainId: CHAIN_ID });
    const raw = getBytes(
      await alice.signTransaction({
        type: 4,
        chainId: CHAIN_ID,
        nonce: 0,
        to: alice.address,
        gasLimit: 100_000n,
        maxFeePerGas: 30n * GWEI,
        maxPriorityFeePerGas: GWEI,
        authorizationList: [auth],
      }),
    );
    const ptx = decodeRawTransaction(raw, decodeCtx);
    expect(ptx.type).toBe(4);
    expect(ptx.sender).toBe(alice.address.toLowerCase());
    expect(ptx.hash).toBe(keccak256(raw));
    expect(ptx.maxFeePerGas).toBe(30n * GWEI);
    expect(ptx.maxPriorityFeePerGas).toBe(GWEI);
    const auths = (ptx.tx as unknown as { authorizationList: Uint8Array[][] }).authorizationList;
    expect(auths).toHaveLength(1);
    expect(getBytes(bob.address)).toEqual(auths[0][1]);
  });

  it("max priority fee per gas higher than max fee per gas", async () => {
    // Hand-built: ethers refuses to sign a tip above the fee cap.
    const auth = await alice.authorize({ address: bob.address, nonce: 1, chainId: CHAIN_ID });
    const q = (n: bigint | number) => bigIntToUnpaddedBytes(BigInt(n));
    const authTuple = [
      q(CHAIN_ID),
      getBytes(bob.address),
      q(1),
      q(auth.signature.yParity),
      q(BigInt(auth.signature.r)),
      q(BigInt(auth.signature.s)),
    ];
    const unsigned = [q(CHAIN_ID), q(0), q(11n * GWEI), q(10n * GWEI), q(100_000n), getBytes(alice.address)];
    const body = [...unsigned, new Uint8Array(0), new Uint8Array(0), [], [authTuple]];
    const sig = new SigningKey(DEV_KEYS[0]).sign(keccak256(concatBytes(Uint8Array.of(4), RLP.encode(body))));
    const raw = concatBytes(
      Uint8Array.of(4),
      RLP.encode([...body, q(sig.yParity), q(BigInt(sig.r)), q(BigInt(sig.s))]),
    );
    await expectMempoolError(
      decode(raw),
      MempoolErrorCode.TIP_ABOVE_FEE_CAP,
      "max priority fee per gas higher than max fee per gas",
    );
  });
});

describe("decodeRawTransaction: geth errors", () => {
  it("oversized data", async () => {
    const raw = await signTx(alice, { data: `0x${"00".repeat(128 * 1024)}`, gasLimit: 2_000_000n });
    await expectMempoolError(decode(raw), MempoolErrorCode.OVERSIZED_DATA, "oversized data");
  });

  it("transaction type not supported (type 3 blob tx)", async () => {
    const hex = await alice.signTransaction({
      type: 3,
      chainId: CHAIN_ID,
      to: alice.address,
      gasLimit: 100_000n,
      maxFeePerGas: GWEI,
      maxPriorityFeePerGas: 1n,
      maxFeePerBlobGas: 1n,
      blobVersionedHashes: [`0x01${"00".repeat(31)}`],
    });
    await expectMempoolError(
      decode(getBytes(hex)),
      MempoolErrorCode.TX_TYPE_NOT_SUPPORTED,
      "transaction type not supported",
    );
  });

  it("transaction type not supported (unknown type 0x05, checked before decoding)", async () => {
    await expectMempoolError(
      decode(Uint8Array.of(0x05, 0xc0)),
      MempoolErrorCode.TX_TYPE_NOT_SUPPORTED,
      "transaction type not supported",
    );
  });

  it("only replay-protected (EIP-155) transactions allowed over RPC", async () => {
    const raw = await signTx(alice, { type: 0, chainId: 0n });
    await expectMempoolError(
      decode(raw),
      MempoolErrorCode.UNPROTECTED_TX,
      "only replay-protected (EIP-155) transactions allowed over RPC",
    );
  });

  it("rlp: (undecodable bytes)", async () => {
    const raw = await signTx(alice);
    await expectMempoolError(decode(raw.subarray(0, raw.length - 3)), MempoolErrorCode.INVALID_TX, /^rlp: /);
    await expectMempoolError(decode(Uint8Array.of(0x82, 0x01, 0x02)), MempoolErrorCode.INVALID_TX, /^rlp: /);
  });

  it("rlp: too few elements (valid RLP, not a tx)", async () => {
    await expectMempoolError(decode(RLP.encode([1, 2, 3])), MempoolErrorCode.INVALID_TX, "rlp: too few elements");
  });

  it("invalid transaction: <reason> (non-canonical field)", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { tip: 1n, maxFee: GWEI, gasLimit: 21_000n }, (f) => {
      f[1] = Uint8Array.of(0, 1); // nonce with a leading zero byte
    });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_TX, /^invalid transaction: .*leading zero/);
  });

  it("invalid chain id (EIP-1559)", async () => {
    const raw = await signTx(alice, { chainId: 1n });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_CHAIN_ID, "invalid chain id");
  });

  it("invalid chain id (EIP-155 legacy)", async () => {
    const raw = await signTx(alice, { type: 0, chainId: 1n });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_CHAIN_ID, "invalid chain id");
  });

  it("invalid sender (high-s signature, EIP-2)", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { tip: 1n, maxFee: GWEI, gasLimit: 21_000n }, (f) => {
      // (r, n - s) with the other parity is the same point: valid maths, but malleable, so refused.
      f[9] = bigIntToUnpaddedBytes(1n - bytesToBigInt(f[9]));
      f[11] = bigIntToUnpaddedBytes(SECP256K1_ORDER - bytesToBigInt(f[11]));
    });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_SENDER, "invalid sender");
  });

  it("invalid sender (r = 0)", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { tip: 1n, maxFee: GWEI, gasLimit: 21_000n }, (f) => {
      f[10] = new Uint8Array(0);
    });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_SENDER, "invalid sender");
  });

  it("intrinsic gas too low", async () => {
    const raw = await signTx(alice, { gasLimit: 20_999n });
    await expectMempoolError(decode(raw), MempoolErrorCode.INTRINSIC_GAS_TOO_LOW, "intrinsic gas too low");
  });

  it("insufficient gas for floor data gas cost (EIP-7623)", async () => {
    // 1000 non-zero bytes: intrinsic 37,000 gas, calldata floor 61,000.
    const raw = await signTx(alice, { data: `0x${"ff".repeat(1000)}`, gasLimit: 50_000n });
    await expectMempoolError(
      decode(raw),
      MempoolErrorCode.FLOOR_DATA_GAS_TOO_LOW,
      "insufficient gas for floor data gas cost",
    );
  });

  it("max priority fee per gas higher than max fee per gas", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { tip: 11n * GWEI, maxFee: 10n * GWEI, gasLimit: 21_000n });
    await expectMempoolError(
      decode(raw),
      MempoolErrorCode.TIP_ABOVE_FEE_CAP,
      "max priority fee per gas higher than max fee per gas",
    );
  });
});

describe("decodeRawTransaction: check order", () => {
  it("size is checked before the type byte", async () => {
    const raw = new Uint8Array(decodeCtx.maxTxBytes + 1);
    raw[0] = 0x03;
    await expectMempoolError(decode(raw), MempoolErrorCode.OVERSIZED_DATA, "oversized data");
  });

  it("chain id is checked before intrinsic gas", async () => {
    const raw = await signTx(alice, { chainId: 1n, gasLimit: 20_000n });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_CHAIN_ID, "invalid chain id");
  });

  it("decoding errors come before the chain id", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { chainId: 1n, tip: 1n, maxFee: GWEI, gasLimit: 21_000n }, (f) => {
      f[1] = Uint8Array.of(0, 1);
    });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_TX, /^invalid transaction: /);
  });

  it("signature is checked before the tip/fee-cap relation", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { tip: 11n, maxFee: 10n, gasLimit: 21_000n }, (f) => {
      f[11] = bigIntToUnpaddedBytes(SECP256K1_ORDER - bytesToBigInt(f[11]));
    });
    await expectMempoolError(decode(raw), MempoolErrorCode.INVALID_SENDER, "invalid sender");
  });

  it("intrinsic gas is checked before the tip/fee-cap relation", async () => {
    const raw = signRaw1559(DEV_KEYS[0], { tip: 11n, maxFee: 10n, gasLimit: 20_000n });
    await expectMempoolError(decode(raw), MempoolErrorCode.INTRINSIC_GAS_TOO_LOW, "intrinsic gas too low");
  });
});
