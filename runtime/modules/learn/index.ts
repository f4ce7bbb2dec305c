import { equalsBytes } from "../../primitives/bytes.js";
import { keccak256 } from "../../primitives/hash.js";
import { type AbiValue, encodeArgs } from "../abi.js";
import { addressTopic, ERC20Errors, emitApproval, isZeroAddress, ZERO20 } from "../erc20Events.js";
import { customError, type FunctionDef, type ModuleCall } from "../host.js";
import type { NativeModule } from "../registry.js";
import { learnGenesis } from "./genesis.js";
import {
  allowanceSlot,
  issuerSlot,
  LEARN_ADDRESS,
  LEARN_SLOTS,
  learnBalanceOf,
  learnSpendAllowance,
  learnTransfer,
  learnUpdate,
  nonceSlot,
} from "./ledger.js";
import { domainSeparator, permitDigest, recoverSigner } from "./permit.js";

/**
 * LEARN (`0x…0A02`): the platform token as a native ERC-20 with OpenZeppelin 5 behaviour and
 * errors, EIP-2612 permit, mint by issuers, burn by holders, issuers set by the genesis admin.
 * State and the ledger operations other modules share live in `ledger.ts`; permit crypto in
 * `permit.ts`; genesis parameters in `genesis.ts`. Layout and gas: README.md here.
 */
export { LEARN_ADDRESS };

/** Base gas per function (before storage and log costs; see README.md). */
export const LEARN_GAS = {
  view: 300n,
  transfer: 2_000n,
  approve: 1_000n,
  mint: 2_000n,
  burn: 2_000n,
  setIssuer: 1_000n,
  /** ecrecover (3,000 in the EVM) plus the EIP-712 hashing. */
  permit: 4_000n,
} as const;

const ISSUER_SET_TOPIC = keccakTopic("IssuerSet(address,bool)");

const LearnErrors = {
  unauthorizedIssuer: (a: Uint8Array) => customError("LearnUnauthorizedIssuer(address)", ["address"], [a]),
  unauthorizedAdmin: (a: Uint8Array) => customError("LearnUnauthorizedAdmin(address)", ["address"], [a]),
  expiredSignature: (deadline: bigint) => customError("ERC2612ExpiredSignature(uint256)", ["uint256"], [deadline]),
  invalidSigner: (signer: Uint8Array, owner: Uint8Array) =>
    customError("ERC2612InvalidSigner(address,address)", ["address", "address"], [signer, owner]),
};

/** OZ `_approve(owner, spender, value, emitEvent = true)`. */
async function approve(call: ModuleCall, owner: Uint8Array, spender: Uint8Array, value: bigint): Promise<void> {
  if (isZeroAddress(owner)) throw ERC20Errors.invalidApprover(ZERO20);
  if (isZeroAddress(spender)) throw ERC20Errors.invalidSpender(ZERO20);
  await call.store(allowanceSlot(owner, spender), value);
  emitApproval(call, owner, spender, value);
}

type Run = FunctionDef["run"];
const view = (sig: string, inputs: FunctionDef["inputs"], outputs: FunctionDef["outputs"], run: Run): FunctionDef => ({
  sig,
  inputs,
  outputs,
  mutates: false,
  gas: LEARN_GAS.view,
  run,
});

const functions: FunctionDef[] = [
  view("name()", [], ["string"], () => ["Azora Learn"]),
  view("symbol()", [], ["string"], () => ["LEARN"]),
  view("decimals()", [], ["uint8"], () => [18n]),
  view("totalSupply()", [], ["uint256"], async (call) => [await call.load(LEARN_SLOTS.totalSupply)]),
  view("balanceOf(address)", ["address"], ["uint256"], async (call, [a]) => [
    await learnBalanceOf(call, a as Uint8Array),
  ]),
  view("allowance(address,address)", ["address", "address"], ["uint256"], async (call, [owner, spender]) => [
    await call.load(allowanceSlot(owner as Uint8Array, spender as Uint8Array)),
  ]),
  view("isIssuer(address)", ["address"], ["bool"], async (call, [a]) => [
    (await call.load(issuerSlot(a as Uint8Array))) === 1n,
  ]),
  view("admin()", [], ["address"], async (call) => [addressFromWord(await call.load(LEARN_SLOTS.admin))]),
  view("nonces(address)", ["address"], ["uint256"], async (call, [a]) => [await call.load(nonceSlot(a as Uint8Array))]),
  view("DOMAIN_SEPARATOR()", [], ["bytes32"], (call) => [domainSeparator(call.evm.common.chainId())]),
  {
    sig: "transfer(address,uint256)",
    inputs: ["address", "uint256"],
    outputs: ["bool"],
    mutates: true,
    gas: LEARN_GAS.transfer,
    run: async (call, [to, amount]) => {
      await learnTransfer(call, call.caller.bytes, to as Uint8Array, amount as bigint);
      return [true];
    },
  },
  {
    sig: "approve(address,uint256)",
    inputs: ["address", "uint256"],
    outputs: ["bool"],
    mutates: true,
    gas: LEARN_GAS.approve,
    run: async (call, [spender, amount]) => {
      await approve(call, call.caller.bytes, spender as Uint8Array, amount as bigint);
      return [true];
    },
  },
  {
    sig: "transferFrom(address,address,uint256)",
    inputs: ["address", "address", "uint256"],
    outputs: ["bool"],
    mutates: true,
    gas: LEARN_GAS.transfer,
    run: async (call, [from, to, amount]) => {
      // OZ order: the allowance is checked (and spent) before the balance and receiver.
      await learnSpendAllowance(call, from as Uint8Array, call.caller.bytes, amount as bigint);
      await learnTransfer(call, from as Uint8Array, to as Uint8Array, amount as bigint);
      return [true];
    },
  },
  {
    sig: "mint(address,uint256)",
    inputs: ["address", "uint256"],
    outputs: [],
    mutates: true,
    gas: LEARN_GAS.mint,
    run: async (call, [to, amount]) => {
      if ((await call.load(issuerSlot(call.caller.bytes))) !== 1n)
        throw LearnErrors.unauthorizedIssuer(call.caller.bytes);
      if (isZeroAddress(to as Uint8Array)) throw ERC20Errors.invalidReceiver(ZERO20);
      await learnUpdate(call, ZERO20, to as Uint8Array, amount as bigint);
      return [];
    },
  },
  {
    sig: "burn(uint256)",
    inputs: ["uint256"],
    outputs: [],
    mutates: true,
    gas: LEARN_GAS.burn,
    run: async (call, [amount]) => {
      // OZ `_burn`: a zero sender (a bare eth_call has one) must not reach `_update`'s mint branch.
      if (isZeroAddress(call.caller.bytes)) throw ERC20Errors.invalidSender(ZERO20);
      await learnUpdate(call, call.caller.bytes, ZERO20, amount as bigint);
      return [];
    },
  },
  {
    sig: "setIssuer(address,bool)",
    inputs: ["address", "bool"],
    outputs: [],
    mutates: true,
    gas: LEARN_GAS.setIssuer,
    run: async (call, [account, allowed]) => {
      const admin = addressFromWord(await call.load(LEARN_SLOTS.admin));
      // A zero admin (no genesis parameters) is nobody, not the zero-address caller of a bare eth_call.
      if (isZeroAddress(admin) || !equalsBytes(call.caller.bytes, admin)) {
        throw LearnErrors.unauthorizedAdmin(call.caller.bytes);
      }
      await call.store(issuerSlot(account as Uint8Array), allowed ? 1n : 0n);
      call.emit([ISSUER_SET_TOPIC, addressTopic(account as Uint8Array)], encodeArgs(["bool"], [allowed as boolean]));
      return [];
    },
  },
  {
    sig: "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
    inputs: ["address", "address", "uint256", "uint256", "uint8", "bytes32", "bytes32"],
    outputs: [],
    mutates: true,
    gas: LEARN_GAS.permit,
    run: async (call, args: AbiValue[]) => {
      const [owner, spender, value, deadline, v, r, s] = args as [
        Uint8Array,
        Uint8Array,
        bigint,
        bigint,
        bigint,
        Uint8Array,
        Uint8Array,
      ];
      // OZ ERC20Permit, in its order: deadline, nonce used, EIP-712 digest, ECDSA.recover, signer check.
      if (call.blockTimestamp() > deadline) throw LearnErrors.expiredSignature(deadline);
      const slot = nonceSlot(owner);
      const nonce = await call.load(slot);
      await call.store(slot, nonce + 1n);
      const digest = permitDigest(call.evm.common.chainId(), owner, spender, value, nonce, deadline);
      const signer = recoverSigner(digest, v, r, s);
      if (!equalsBytes(signer, owner)) throw LearnErrors.invalidSigner(signer, owner);
      await approve(call, owner, spender, value);
      return [];
    },
  },
];

export const learnModule: NativeModule = {
  address: LEARN_ADDRESS,
  def: { name: "LEARN", functions },
  genesis: learnGenesis,
};

function addressFromWord(w: bigint): Uint8Array {
  return encodeArgs(["uint256"], [w]).subarray(12);
}

function keccakTopic(signature: string): Uint8Array {
  return keccak256(new TextEncoder().encode(signature));
}
