import { AbiCoder, id, keccak256, TypedDataEncoder, toUtf8Bytes, Wallet } from "ethers";
import { describe, expect, it, vi } from "vitest";
import { DEV_KEYS } from "../../../../genesis/devnet.js";
import { addressOfKey, DevAccounts, devAccounts, impersonationKey } from "../../../../node/dev/accounts.js";
import { CONSOLE_ADDRESS, logConsoleCalls, type MessageEvents } from "../../../../node/dev/consoleLog.js";
import { signMessage, signTypedData } from "../../../../node/dev/signing.js";
import { type Logger, nullLogger } from "../../../../runtime/lib/logger.js";

// The dev node's accounts, impersonation keys and signers without ethers at start: each must give what ethers
// (the previous implementation) gave, since clients compare addresses, transaction hashes and signatures.

describe("dev accounts without ethers at start", () => {
  it("lists the ten dev keys with ethers' checksummed addresses, in mnemonic order", () => {
    const accounts = devAccounts();
    expect(accounts.map((a) => a.privateKey)).toEqual([...DEV_KEYS]);
    expect(accounts.map((a) => a.address)).toEqual(DEV_KEYS.map((k) => new Wallet(k).address));
    const unlocked = new DevAccounts({ unlocked: true });
    expect(unlocked.list()).toEqual(accounts.map((a) => a.address));
    expect(unlocked.key(accounts[3].address.toLowerCase())).toBe(DEV_KEYS[3]);
    expect(new DevAccounts({ unlocked: false }).list()).toEqual([]);
  });

  it("checksums any key's address as ethers does", () => {
    for (const seed of ["a", "b", "c"]) {
      const key = keccak256(toUtf8Bytes(seed));
      expect(addressOfKey(key)).toBe(new Wallet(key).address);
    }
  });

  it("an unknown account's error names it checksummed, as geth does", () => {
    const locked = new DevAccounts({ unlocked: false });
    const address = new Wallet(DEV_KEYS[0]).address;
    expect(() => locked.requireKey(address.toLowerCase())).toThrow(`unknown account ${address}`);
  });

  it("derives impersonation keys as ethers' keccak256(toUtf8Bytes(...)) did (impersonated tx hashes unchanged)", () => {
    for (const address of [new Wallet(DEV_KEYS[1]).address, "0x000000000000000000000000000000000000dEaD"]) {
      expect(impersonationKey(address)).toBe(
        keccak256(toUtf8Bytes(`azora dev impersonation ${address.toLowerCase()}`)),
      );
    }
  });

  it("signs messages and typed data as an ethers Wallet does", async () => {
    const wallet = new Wallet(DEV_KEYS[2]);
    const message = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    expect(signMessage(DEV_KEYS[2], message)).toBe(wallet.signMessageSync(message));
    const types = {
      Mail: [
        { name: "to", type: "address" },
        { name: "body", type: "string" },
      ],
    };
    const domain = { name: "dev", version: "1", chainId: 1337 };
    const value = { to: wallet.address, body: "hi" };
    const typed = { types: { ...types, EIP712Domain: [] }, primaryType: "Mail", domain, message: value };
    expect(signTypedData(DEV_KEYS[2], JSON.stringify(typed))).toBe(
      wallet.signingKey.sign(TypedDataEncoder.hash(domain, types, value)).serialized,
    );
  });
});

describe("console.log decoded on first use", () => {
  const calldata = (signature: string, types: string[], values: unknown[]) =>
    Buffer.from(id(signature).slice(2, 10) + AbiCoder.defaultAbiCoder().encode(types, values).slice(2), "hex");

  it("logs each console.sol call in order once the decoder has loaded, from a copy of the EVM's calldata", async () => {
    let listener: ((message: { to?: { toString(): string }; data: Uint8Array }) => void) | undefined;
    const events: MessageEvents = {
      on: (_event, l) => {
        listener = l;
      },
    };
    const lines: string[] = [];
    const log: Logger = { ...nullLogger, info: (_msg, ctx) => lines.push(String(ctx?.text)) };
    logConsoleCalls(events, log);
    const to = { toString: () => CONSOLE_ADDRESS };
    const greeting = calldata(
      "log(string,string,uint256)",
      ["string", "string", "uint256"],
      ["hello %s, call %d", "world", 1n],
    );
    listener?.({ to, data: greeting });
    listener?.({ to: { toString: () => "0x0000000000000000000000000000000000000001" }, data: greeting });
    listener?.({ to, data: calldata("log(uint256)", ["uint256"], [7n]) });
    // The EVM reuses its buffers: what was logged is what the call sent.
    greeting.fill(0);
    await vi.waitFor(() => expect(lines).toHaveLength(2));
    expect(lines).toEqual(["hello world, call 1", "7"]);
  });
});
