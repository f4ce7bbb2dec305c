/**
 * Shared fixtures for the native-ledger tests (test/ledger/): module addresses, an ethers provider
 * that never caches, transactions that may fail (receipts with status 0 instead of thrown errors),
 * raw JSON-RPC, and revert decoding with OpenZeppelin's error ABIs taken from compiled artifacts.
 * Shared file: add exports, never change existing ones.
 */
import {
  Contract,
  ContractFactory,
  Interface,
  type InterfaceAbi,
  JsonRpcProvider,
  type TransactionReceipt,
  type TransactionRequest,
  type Wallet,
} from "ethers";
import { loadArtifact } from "../../contracts/artifacts.js";

/** Fixed addresses of the native modules (lowercase). */
export const WAZR_ADDRESS = "0x0000000000000000000000000000000000000a01";
export const LEARN_ADDRESS = "0x0000000000000000000000000000000000000a02";
export const NFT_REGISTRY_ADDRESS = "0x0000000000000000000000000000000000000a03";
export const ESCROW_ADDRESS = "0x0000000000000000000000000000000000000a04";
export const MARKET_ADDRESS = "0x0000000000000000000000000000000000000a05";
export const MODEL_REGISTRY_ADDRESS = "0x0000000000000000000000000000000000000a08";
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Address of NFT collection number `n` (from 1): 0x…0a03 followed by n as 8 bytes (lowercase). */
export function collectionAddress(n: bigint | number): string {
  return `0x000000000000000000000a03${BigInt(n).toString(16).padStart(16, "0")}`;
}

/** An ethers provider that never caches or batches and polls quickly (tx.wait notices blocks at once). */
export function ledgerProvider(url: string): JsonRpcProvider {
  return new JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 20 });
}

/** The ABI of compiled contract `name` (contracts/artifacts/<name>.json). */
export function abiOf(name: string): InterfaceAbi {
  return loadArtifact(name).abi as InterfaceAbi;
}

/** `name`'s ABI plus the custom errors of each of `errorSources` (e.g. OZ's IERC20Errors from TestToken). */
export function abiWithErrors(name: string, ...errorSources: string[]): InterfaceAbi {
  const errors = errorSources.flatMap((s) =>
    (loadArtifact(s).abi as { type: string }[]).filter((f) => f.type === "error"),
  );
  return [...(loadArtifact(name).abi as object[]), ...errors] as InterfaceAbi;
}

/** A contract at `address` with the compiled ABI `name` (plus the errors of `errorSources`). */
export function contractAt(address: string, name: string, runner: Wallet | JsonRpcProvider, ...errorSources: string[]) {
  return new Contract(address, abiWithErrors(name, ...errorSources), runner);
}

/** Deploys compiled contract `name` and waits for it; returns the connected contract and its address. */
export async function deployContract(
  wallet: Wallet,
  name: string,
  args: unknown[] = [],
): Promise<{ contract: Contract; address: string }> {
  const a = loadArtifact(name);
  const factory = new ContractFactory(a.abi as InterfaceAbi, a.bytecode, wallet);
  const r = await sendTx(wallet, await factory.getDeployTransaction(...args));
  if (r.status !== 1 || r.contractAddress === null) throw new Error(`deploying ${name} failed`);
  const address = r.contractAddress.toLowerCase();
  return { contract: new Contract(address, a.abi as InterfaceAbi, wallet), address };
}

/**
 * Sends `tx` and returns its receipt whatever its status (tx.wait() throws on status 0). Give an
 * explicit `gasLimit` for a tx meant to fail: ethers would otherwise refuse it at estimateGas.
 */
export async function sendTx(wallet: Wallet, tx: TransactionRequest): Promise<TransactionReceipt> {
  const sent = await wallet.sendTransaction(tx);
  return waitReceipt(wallet.provider as JsonRpcProvider, sent.hash);
}

/**
 * Polls eth_getTransactionReceipt every 10 ms until `hash` is mined (ethers' waitForTransaction can
 * miss a block produced while it subscribes, then waits for the next one: seconds on an idle devnet).
 */
export async function waitReceipt(
  provider: JsonRpcProvider,
  hash: string,
  timeoutMs = 30_000,
): Promise<TransactionReceipt> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await provider.getTransactionReceipt(hash);
    if (r !== null) return r;
    if (Date.now() > until) throw new Error(`no receipt for ${hash} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What a receipt's transaction cost its sender in gas (gasUsed × effectiveGasPrice). */
export function feeOf(r: TransactionReceipt): bigint {
  return r.gasUsed * r.gasPrice;
}

/** One raw JSON-RPC call; throws with the error object when the node answers with an error. */
export async function rpcCall<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string; data?: unknown } };
  if (body.error !== undefined) throw Object.assign(new Error(body.error.message), { rpcError: body.error });
  return body.result as T;
}

/** The revert data of a failed eth_call/estimateGas through ethers ("0x" for an empty revert). */
export function revertDataOf(e: unknown): string {
  const err = e as { data?: unknown; info?: { error?: { data?: unknown } }; error?: { data?: unknown } };
  const d = err.data ?? err.info?.error?.data ?? err.error?.data;
  if (typeof d === "string") return d;
  throw new Error(`no revert data in ${String(e)}`);
}

/**
 * Runs `fn` (an eth_call or estimateGas) that must revert; returns the revert data decoded with
 * `iface` (`name` "Error" for Error(string), args as decoded), or `{ name: "", args: [] }` for an empty revert.
 */
export async function expectRevert(
  fn: () => Promise<unknown>,
  iface: Interface,
): Promise<{ name: string; args: unknown[]; data: string }> {
  let data: string;
  try {
    await fn();
  } catch (e) {
    data = revertDataOf(e);
    if (data === "0x") return { name: "", args: [], data };
    if (data.startsWith("0x08c379a0")) {
      const [reason] = new Interface(["error Error(string)"]).decodeErrorResult("Error", data);
      return { name: "Error", args: [reason], data };
    }
    const parsed = iface.parseError(data);
    if (parsed === null) throw new Error(`undecodable revert data ${data}`);
    return { name: parsed.name, args: [...parsed.args], data };
  }
  throw new Error("expected a revert, but the call succeeded");
}
