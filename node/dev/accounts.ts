import { privateToAddress, toChecksumAddress } from "@ethereumjs/util";
import { DEV_KEYS } from "../../genesis/devnet.js";
import { InvalidParamsError } from "../../rpc/errors.js";
import { bytesToHex, hexToBytes } from "../../runtime/primitives/bytes.js";
import { keccak256 } from "../../runtime/primitives/keccakWasm.js";

/** A dev account: its checksummed address and its private key (0x hex). */
export interface DevAccount {
  address: string;
  privateKey: string;
}

/** The checksummed address of a private key (0x hex). */
export function addressOfKey(privateKey: string): string {
  return toChecksumAddress(bytesToHex(privateToAddress(hexToBytes(privateKey as `0x${string}`))));
}

/**
 * The ten dev accounts (the test mnemonic's, as Anvil and Hardhat unlock them), from DEV_KEYS: no seed
 * derivation and no ethers at start (the genesis test checks DEV_KEYS against the mnemonic).
 */
export function devAccounts(): DevAccount[] {
  return DEV_KEYS.map((privateKey) => ({ address: addressOfKey(privateKey), privateKey }));
}

/**
 * Dev mode's unlocked accounts and impersonated addresses (`anvil_impersonateAccount`): whose
 * transactions and messages the node signs on request. Addresses are kept lowercase. Only keys are
 * held: the message and typed-data signers (ethers) are loaded on the first signing request
 * (`./signing.ts`), so a dev node that never signs a message never loads ethers.
 */
export class DevAccounts {
  private readonly keys = new Map<string, string>();
  private readonly order: string[] = [];
  private readonly impersonated = new Set<string>();
  /** `anvil_autoImpersonateAccount`: every address may send without its key. */
  autoImpersonate = false;

  constructor(opts: { unlocked: boolean }) {
    if (!opts.unlocked) return;
    for (const a of devAccounts()) {
      this.keys.set(a.address.toLowerCase(), a.privateKey);
      this.order.push(a.address);
    }
  }

  /** `eth_accounts`: checksummed, in mnemonic order (Anvil's answer). */
  list(): string[] {
    return [...this.order];
  }

  /** The private key of an unlocked account, or undefined. */
  key(address: string): string | undefined {
    return this.keys.get(address.toLowerCase());
  }

  impersonate(address: string): void {
    this.impersonated.add(address.toLowerCase());
  }

  stopImpersonating(address: string): void {
    this.impersonated.delete(address.toLowerCase());
  }

  isImpersonated(address: string): boolean {
    return this.autoImpersonate || this.impersonated.has(address.toLowerCase());
  }

  clearImpersonation(): void {
    this.impersonated.clear();
    this.autoImpersonate = false;
  }

  /** The key of unlocked `address` or an error as geth words it. */
  requireKey(address: string): string {
    const k = this.key(address);
    if (k === undefined) throw new InvalidParamsError(`unknown account ${toChecksumAddress(address.toLowerCase())}`);
    return k;
  }
}

/**
 * The key an impersonated transaction is signed with: derived from the sender's address, so every
 * impersonated sender's transactions have hashes of their own (two senders with equal fields never
 * collide), while the sender the chain executes and records is the impersonated address. Public by
 * construction, like the dev keys.
 */
export function impersonationKey(address: string): string {
  return bytesToHex(keccak256(Buffer.from(`azora dev impersonation ${address.toLowerCase()}`, "utf8")));
}
