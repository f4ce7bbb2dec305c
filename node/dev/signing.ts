import { TypedDataEncoder, type TypedDataField, Wallet } from "ethers";
import { InvalidParamsError } from "../../rpc/errors.js";

// The dev node's message signers. Loaded only by a signing request (`import()` in ./methods.ts): ethers is ~25 MB
// of a node's RSS and nothing else in a dev node needs it.

/** `eth_sign` / `personal_sign`: EIP-191 over the message's bytes. */
export function signMessage(privateKey: string, message: Uint8Array): string {
  return new Wallet(privateKey).signMessageSync(message);
}

/** EIP-712 typed data as `eth_signTypedData_v4` receives it (an object or its JSON text). */
interface TypedDataRequest {
  types: Record<string, TypedDataField[]>;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

/** Signs EIP-712 typed data (`eth_signTypedData_v4`) with ethers' encoder; the types of `primaryType` only. */
export function signTypedData(privateKey: string, raw: unknown): string {
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
    return new Wallet(privateKey).signingKey.sign(TypedDataEncoder.hash(data.domain ?? {}, types, data.message ?? {}))
      .serialized;
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
