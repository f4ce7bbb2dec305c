import {
  getAddress,
  HDNodeWallet,
  keccak256,
  TypedDataEncoder,
  type TypedDataField,
  toUtf8Bytes,
  Wallet,
} from "ethers";
import { DEV_ACCOUNT_COUNT, DEV_MNEMONIC } from "../../genesis/devnet.js";
import { InvalidParamsError } from "../../rpc/errors.js";

/**
 * Dev mode's unlocked accounts (the 10 accounts of the test mnemonic, as Anvil and Hardhat unlock
 * them) and impersonated addresses (`anvil_impersonateAccount`): whose transactions and messages the
 * node signs on request. Addresses are kept lowercase.
 */
export class DevAccounts {
  private readonly wallets = new Map<string, Wallet>();
  private readonly order: string[] = [];
  private readonly impersonated = new Set<string>();
  /** `anvil_autoImpersonateAccount`: every address may send without its key. */
  autoImpersonate = false;

  constructor(opts: { unlocked: boolean }) {
    if (!opts.unlocked) return;
    // One seed derivation for all ten (fromPhrase per account would run PBKDF2 ten times).
    const parent = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, "m/44'/60'/0'/0");
    for (let i = 0; i < DEV_ACCOUNT_COUNT; i++) {
      const w = new Wallet(parent.deriveChild(i).privateKey);
      this.wallets.set(w.address.toLowerCase(), w);
      this.order.push(w.address);
    }
  }

  /** `eth_accounts`: checksummed, in mnemonic order (Anvil's answer). */
  list(): string[] {
    return [...this.order];
  }

  /** The wallet of an unlocked account, or undefined. */
  wallet(address: string): Wallet | undefined {
    return this.wallets.get(address.toLowerCase());
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

  /** The unlocked wallet of `address` or an error as geth words it. */
  requireWallet(address: string): Wallet {
    const w = this.wallet(address);
    if (w === undefined) throw new InvalidParamsError(`unknown account ${getAddress(address)}`);
    return w;
  }
}

/**
 * The key an impersonated transaction is signed with: derived from the sender's address, so every
 * impersonated sender's transactions have hashes of their own (two senders with equal fields never
 * collide), while the sender the chain executes and records is the impersonated address. Public by
 * construction, like the dev keys.
 */
export function impersonationKey(address: string): string {
  return keccak256(toUtf8Bytes(`azora dev impersonation ${address.toLowerCase()}`));
}

/** EIP-712 typed data as `eth_signTypedData_v4` receives it (an object or its JSON text). */
interface TypedDataRequest {
  types: Record<string, TypedDataField[]>;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

/** Signs EIP-712 typed data (`eth_signTypedData_v4`) with ethers' encoder; the types of `primaryType` only. */
export function signTypedData(wallet: Wallet, raw: unknown): string {
  let data: TypedDataRequest;
  try {
    data = (typeof raw === "string" ? JSON.parse(raw) : raw) as TypedDataRequest;
  } catch {
    throw new InvalidParamsError("invalid argument 1: typed data is not JSON");
  }
  if (typeof data !== "object" || data === null || typeof data.types !== "object" || data.types === null) {
    throw new InvalidParamsError("invalid argument 1: typed data needs types, primaryType, domain and message");
  }
  const types = reachableTypes(data.types, data.primaryType);
  try {
    return wallet.signingKey.sign(TypedDataEncoder.hash(data.domain ?? {}, types, data.message ?? {})).serialized;
  } catch (e) {
    throw new InvalidParamsError(`invalid argument 1: ${(e as Error).message}`);
  }
}

/** The struct types `primary` refers to, itself included, without EIP712Domain (ethers adds it). */
function reachableTypes(all: Record<string, TypedDataField[]>, primary: string): Record<string, TypedDataField[]> {
  if (typeof primary !== "string" || all[primary] === undefined) {
    throw new InvalidParamsError(`invalid argument 1: primaryType ${String(primary)} is not among the types`);
  }
  const out: Record<string, TypedDataField[]> = {};
  const visit = (name: string) => {
    if (out[name] !== undefined || all[name] === undefined || name === "EIP712Domain") return;
    out[name] = all[name];
    for (const f of all[name]) visit(f.type.replace(/(\[\d*\])+$/, ""));
  };
  visit(primary);
  return out;
}
