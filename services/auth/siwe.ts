/**
 * Sign-In with Ethereum (EIP-4361). A nonce is issued once and consumed by the first message that names it; the
 * message must name our domain and chain and be inside its validity window. The signature is checked as an EOA
 * `personal_sign` first; when that does not recover the address, the address is asked over JSON-RPC whether it is a
 * contract wallet that accepts the signature (ERC-1271 `isValidSignature(hash, sig)` returning 0x1626ba7e).
 */
import { randomUUID } from "node:crypto";
import { Contract, getAddress, hashMessage, JsonRpcProvider, verifyMessage } from "ethers";
import { generateNonce, SiweMessage } from "siwe";
import { AuthError, AuthErrorCode } from "./errors.js";
import type { AuthRepository, UserRow } from "./store/repository.js";

const ERC1271_MAGIC = "0x1626ba7e";
const ERC1271_ABI = ["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"];
const MAX_MESSAGE = 4096;

/** How a signature is checked for a contract wallet; the JSON-RPC one in production, anything in unit tests. */
export type ContractSignatureCheck = (address: string, hash: string, signature: string) => Promise<boolean>;

export function erc1271ViaRPC(rpcUrl: string, chainId: number): ContractSignatureCheck {
  const provider = new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, batchMaxCount: 1 });
  return async (address, hash, signature) => {
    let code: string;
    try {
      code = await provider.getCode(address);
    } catch (e) {
      throw new AuthError({
        code: AuthErrorCode.CHAIN_UNAVAILABLE,
        reason: `eth_getCode failed: ${(e as Error).message}`,
      });
    }
    if (code === "0x") return false;
    try {
      const wallet = new Contract(address, ERC1271_ABI, provider);
      return (await wallet.isValidSignature(hash, signature)) === ERC1271_MAGIC;
    } catch {
      // A revert or a contract without the method: not a signature it accepts.
      return false;
    }
  };
}

export interface SIWEOptions {
  domain: string;
  chainId: number;
  nonceTtlSec: number;
  contractCheck: ContractSignatureCheck | null;
  now: () => number;
}

export class SIWE {
  constructor(
    private readonly repo: AuthRepository,
    private readonly o: SIWEOptions,
  ) {}

  async nonce(): Promise<{ nonce: string; expiresAt: number }> {
    const nonce = generateNonce();
    const expiresAt = this.o.now() + this.o.nonceTtlSec * 1000;
    await this.repo.saveNonce(nonce, expiresAt);
    return { nonce, expiresAt };
  }

  /** Verifies a signed message; returns the account of the address (made on first sign-in). */
  async signIn(message: string, signature: string): Promise<UserRow> {
    const address = await this.verify(message, signature);
    const now = this.o.now();
    const existing = await this.repo.userByWallet(address);
    if (existing !== undefined) return existing;
    const id = randomUUID();
    await this.repo.createUser({ id, wallet: address, now });
    const made = await this.repo.userByWallet(address);
    if (made === undefined) throw new Error("account for a new wallet was not stored");
    return made;
  }

  /** Links the wallet that signed the message to a signed-in account (AUTH_WALLET_TAKEN if another has it). */
  async link(user: UserRow, message: string, signature: string): Promise<string> {
    const address = await this.verify(message, signature);
    if (!(await this.repo.linkWallet(user.id, address))) throw new AuthError({ code: AuthErrorCode.WALLET_TAKEN });
    return address;
  }

  /** All the checks of a SIWE message and its signature; the checksummed address that signed. */
  async verify(message: string, signature: string): Promise<string> {
    const msg = this.parse(message);
    const now = this.o.now();
    if (msg.domain !== this.o.domain)
      throw invalid(`domain ${JSON.stringify(msg.domain)} is not ${JSON.stringify(this.o.domain)}`);
    if (msg.chainId !== this.o.chainId) throw invalid(`chain id ${msg.chainId} is not ${this.o.chainId}`);
    if (msg.version !== "1") throw invalid(`version ${msg.version} is not 1`);
    if (msg.expirationTime !== undefined && Date.parse(msg.expirationTime) <= now)
      throw new AuthError({ code: AuthErrorCode.SIWE_EXPIRED, reason: `message expired at ${msg.expirationTime}` });
    if (msg.notBefore !== undefined && Date.parse(msg.notBefore) > now)
      throw new AuthError({ code: AuthErrorCode.SIWE_EXPIRED, reason: `message not valid before ${msg.notBefore}` });
    // The nonce goes with the first attempt, good signature or not: a nonce cannot be tried twice.
    if (!(await this.repo.consumeNonce(msg.nonce, now))) throw new AuthError({ code: AuthErrorCode.SIWE_BAD_NONCE });
    if (typeof signature !== "string" || !/^0x[0-9a-fA-F]*$/.test(signature) || signature.length > 4098)
      throw new AuthError({ code: AuthErrorCode.SIWE_BAD_SIGNATURE });
    const address = getAddress(msg.address);
    if (!(await this.signatureValid(message, address, signature)))
      throw new AuthError({ code: AuthErrorCode.SIWE_BAD_SIGNATURE });
    return address;
  }

  private parse(message: string): SiweMessage {
    if (typeof message !== "string" || message.length > MAX_MESSAGE) throw invalid("message missing or too long");
    try {
      return new SiweMessage(message);
    } catch (e) {
      throw invalid(`not an EIP-4361 message: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async signatureValid(message: string, address: string, signature: string): Promise<boolean> {
    try {
      if (getAddress(verifyMessage(message, signature)) === address) return true;
    } catch {
      // Not a 65-byte ECDSA signature: may still be a contract wallet's (any length).
    }
    if (this.o.contractCheck === null) return false;
    return this.o.contractCheck(address, hashMessage(message), signature);
  }
}

const invalid = (reason: string) => new AuthError({ code: AuthErrorCode.SIWE_INVALID_MESSAGE, reason });
