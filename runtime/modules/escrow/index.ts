import { Address, equalsBytes } from "@ethereumjs/util";
import { keccak256 } from "../../primitives/hash.js";
import { type AbiValue, encodeArgs, uintWord, wordToBigInt } from "../abi.js";
import { addressTopic, isZeroAddress } from "../erc20Events.js";
import { customError, type FunctionDef, type ModuleCall, namedSlot, storageSlot } from "../host.js";
import { LEARN_ADDRESS } from "../learn/index.js";
import { learnSpendAllowance, learnTransfer } from "../learn/ledger.js";
import { MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";

/**
 * Escrow (`0x…0A04`, `contracts/interfaces/IEscrow.sol`): holds AZR or LEARN until it is released
 * to the payee, refunded to the payer or split by the arbiter. Escrowed AZR is simply this module
 * account's native balance; escrowed LEARN is this account's LEARN balance. Every settlement writes
 * the final status before any funds move, pays all or nothing (a failed payment reverts the whole
 * call through the journal), and pays with balance moves only: no code of a payee ever runs, so
 * there is nothing to re-enter. Layout, state machine and gas: README.md next to this file.
 */
export const ESCROW_ADDRESS = moduleAddress(MODULE_ADDRESS.escrow);

/** IEscrow.Status, in the interface's order (ABI `uint8`). */
export enum Status {
  None = 0,
  Active = 1,
  Disputed = 2,
  Released = 3,
  Refunded = 4,
  Resolved = 5,
}

/** Base gas per function (before storage, log and payment costs; see README.md). */
export const ESCROW_GAS = { view: 300n, create: 3_000n, settle: 2_000n, dispute: 1_000n } as const;

const COUNT_SLOT = namedSlot("azora.escrow.count");
const ESCROWS = namedSlot("azora.escrow.escrows");

/**
 * Words of one escrow, at keccak256(ESCROWS ‖ id) + field, packed like the Solidity struct
 * `{ address payer; uint64 deadline; Status status; address payee; address arbiter; address token;
 * uint256 amount; bytes32 terms; }`: so the status changes with a single write.
 */
enum Field {
  /** payer (bits 0–159) | deadline (160–223) | status (224–231) */
  Head = 0,
  Payee = 1,
  Arbiter = 2,
  Token = 3,
  Amount = 4,
  Terms = 5,
}

function fieldSlot(id: bigint, field: Field): Uint8Array {
  return uintWord((wordToBigInt(storageSlot(ESCROWS, id)) + BigInt(field)) % 2n ** 256n);
}

const MASK_160 = (1n << 160n) - 1n;
const MASK_64 = (1n << 64n) - 1n;
const packHead = (payer: Uint8Array, deadline: bigint, status: Status) =>
  wordToBigInt(payer) | (deadline << 160n) | (BigInt(status) << 224n);
const toAddress = (word: bigint) => uintWord(word & MASK_160).slice(12);

interface Escrow {
  id: bigint;
  payer: Uint8Array;
  payee: Uint8Array;
  arbiter: Uint8Array;
  token: Uint8Array;
  amount: bigint;
  deadline: bigint;
  status: Status;
}

const eventTopic = (sig: string) => keccak256(new TextEncoder().encode(sig));
const CREATED = eventTopic("EscrowCreated(uint256,address,address,address,address,uint256,uint64,bytes32)");
const RELEASED = eventTopic("EscrowReleased(uint256,address,uint256)");
const REFUNDED = eventTopic("EscrowRefunded(uint256,address,uint256)");
const DISPUTED = eventTopic("EscrowDisputed(uint256,address)");
const RESOLVED = eventTopic("EscrowResolved(uint256,uint256,uint256)");

export const EscrowErrors = {
  notFound: (id: bigint) => customError("EscrowNotFound(uint256)", ["uint256"], [id]),
  // Solidity encodes an enum as uint8 in signatures and data.
  invalidState: (id: bigint, status: Status) =>
    customError("EscrowInvalidState(uint256,uint8)", ["uint256", "uint8"], [id, BigInt(status)]),
  unauthorized: (caller: Uint8Array) => customError("EscrowUnauthorized(address)", ["address"], [caller]),
  deadlinePassed: (id: bigint, deadline: bigint) =>
    customError("EscrowDeadlinePassed(uint256,uint64)", ["uint256", "uint64"], [id, deadline]),
  deadlineNotReached: (id: bigint, deadline: bigint) =>
    customError("EscrowDeadlineNotReached(uint256,uint64)", ["uint256", "uint64"], [id, deadline]),
  invalidAmount: (amount: bigint, value: bigint) =>
    customError("EscrowInvalidAmount(uint256,uint256)", ["uint256", "uint256"], [amount, value]),
  invalidToken: (token: Uint8Array) => customError("EscrowInvalidToken(address)", ["address"], [token]),
  invalidParty: (party: Uint8Array) => customError("EscrowInvalidParty(address)", ["address"], [party]),
  invalidDeadline: (deadline: bigint) => customError("EscrowInvalidDeadline(uint64)", ["uint64"], [deadline]),
};

const isLearn = (token: Uint8Array) => equalsBytes(token, LEARN_ADDRESS.bytes);

/** Loads escrow `id`; an id never created (status None) is EscrowNotFound. */
async function loadEscrow(call: ModuleCall, id: bigint): Promise<Escrow> {
  const head = await call.load(fieldSlot(id, Field.Head));
  const status = Number(head >> 224n) as Status;
  if (status === Status.None) throw EscrowErrors.notFound(id);
  return {
    id,
    payer: toAddress(head),
    deadline: (head >> 160n) & MASK_64,
    status,
    payee: toAddress(await call.load(fieldSlot(id, Field.Payee))),
    arbiter: toAddress(await call.load(fieldSlot(id, Field.Arbiter))),
    token: toAddress(await call.load(fieldSlot(id, Field.Token))),
    amount: await call.load(fieldSlot(id, Field.Amount)),
  };
}

function requireStatus(e: Escrow, ...allowed: Status[]): void {
  if (!allowed.includes(e.status)) throw EscrowErrors.invalidState(e.id, e.status);
}

function requireCaller(call: ModuleCall, ...allowed: Uint8Array[]): void {
  if (!allowed.some((a) => equalsBytes(a, call.caller.bytes))) throw EscrowErrors.unauthorized(call.caller.bytes);
}

async function writeStatus(call: ModuleCall, e: Escrow, status: Status): Promise<void> {
  await call.store(fieldSlot(e.id, Field.Head), packHead(e.payer, e.deadline, status));
}

/**
 * Ends escrow `e`: the final status is written first, then each payment moves balances only (no
 * code runs at the receiver). Any failed payment throws, and the journal undoes the whole call.
 */
async function settle(call: ModuleCall, e: Escrow, status: Status, payments: [Uint8Array, bigint][]): Promise<void> {
  await writeStatus(call, e, status);
  for (const [to, amount] of payments) {
    if (amount === 0n) continue;
    if (isLearn(e.token)) await learnTransfer(call, ESCROW_ADDRESS.bytes, to, amount);
    else await call.moveNative(ESCROW_ADDRESS, new Address(to), amount);
  }
}

async function create(call: ModuleCall, args: AbiValue[]): Promise<bigint> {
  const [payee, arbiter, token, amount, deadline, terms] = args as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    bigint,
    bigint,
    Uint8Array,
  ];
  const payer = call.caller.bytes;
  const learn = isLearn(token);
  if (!learn && !isZeroAddress(token)) throw EscrowErrors.invalidToken(token);
  // AZR arrives as msg.value (already credited to this account by the EVM); LEARN is pulled below.
  if (amount === 0n || call.value !== (learn ? 0n : amount)) throw EscrowErrors.invalidAmount(amount, call.value);
  if (isZeroAddress(payee) || equalsBytes(payee, payer)) throw EscrowErrors.invalidParty(payee);
  if (isZeroAddress(arbiter)) throw EscrowErrors.invalidParty(arbiter);
  if (deadline <= call.blockTimestamp()) throw EscrowErrors.invalidDeadline(deadline);

  const id = (await call.load(COUNT_SLOT)) + 1n;
  await call.store(COUNT_SLOT, id);
  await call.store(fieldSlot(id, Field.Head), packHead(payer, deadline, Status.Active));
  await call.store(fieldSlot(id, Field.Payee), wordToBigInt(payee));
  await call.store(fieldSlot(id, Field.Arbiter), wordToBigInt(arbiter));
  // Ids are never reused, so these slots are fresh: zero words (AZR's token, empty terms) need no write.
  if (learn) await call.store(fieldSlot(id, Field.Token), wordToBigInt(token));
  await call.store(fieldSlot(id, Field.Amount), amount);
  if (wordToBigInt(terms) !== 0n) await call.store(fieldSlot(id, Field.Terms), wordToBigInt(terms));
  if (learn) {
    await learnSpendAllowance(call, payer, ESCROW_ADDRESS.bytes, amount);
    await learnTransfer(call, payer, ESCROW_ADDRESS.bytes, amount);
  }
  call.emit(
    [CREATED, uintWord(id), addressTopic(payer), addressTopic(payee)],
    encodeArgs(["address", "address", "uint256", "uint64", "bytes32"], [arbiter, token, amount, deadline, terms]),
  );
  return id;
}

const functions: FunctionDef[] = [
  {
    sig: "create(address,address,address,uint256,uint64,bytes32)",
    inputs: ["address", "address", "address", "uint256", "uint64", "bytes32"],
    outputs: ["uint256"],
    mutates: true,
    payable: true,
    gas: ESCROW_GAS.create,
    run: async (call, args) => [await create(call, args)],
  },
  {
    sig: "release(uint256)",
    inputs: ["uint256"],
    outputs: [],
    mutates: true,
    gas: ESCROW_GAS.settle,
    run: async (call, [id]) => {
      const e = await loadEscrow(call, id as bigint);
      requireStatus(e, Status.Active, Status.Disputed);
      requireCaller(call, e.payer, e.arbiter);
      await settle(call, e, Status.Released, [[e.payee, e.amount]]);
      call.emit([RELEASED, uintWord(e.id), addressTopic(e.payee)], encodeArgs(["uint256"], [e.amount]));
      return [];
    },
  },
  {
    sig: "refund(uint256)",
    inputs: ["uint256"],
    outputs: [],
    mutates: true,
    gas: ESCROW_GAS.settle,
    run: async (call, [id]) => {
      const e = await loadEscrow(call, id as bigint);
      requireStatus(e, Status.Active, Status.Disputed);
      // The payee may always give the money back; anyone else only after the deadline, and only
      // while no dispute is open (a dispute is the arbiter's to settle).
      if (!equalsBytes(call.caller.bytes, e.payee)) {
        if (e.status === Status.Disputed) throw EscrowErrors.invalidState(e.id, e.status);
        if (call.blockTimestamp() < e.deadline) throw EscrowErrors.deadlineNotReached(e.id, e.deadline);
      }
      await settle(call, e, Status.Refunded, [[e.payer, e.amount]]);
      call.emit([REFUNDED, uintWord(e.id), addressTopic(e.payer)], encodeArgs(["uint256"], [e.amount]));
      return [];
    },
  },
  {
    sig: "dispute(uint256)",
    inputs: ["uint256"],
    outputs: [],
    mutates: true,
    gas: ESCROW_GAS.dispute,
    run: async (call, [id]) => {
      const e = await loadEscrow(call, id as bigint);
      requireStatus(e, Status.Active);
      requireCaller(call, e.payer, e.payee);
      // From the deadline on the escrow is refundable by anyone; a dispute could no longer block that.
      if (call.blockTimestamp() >= e.deadline) throw EscrowErrors.deadlinePassed(e.id, e.deadline);
      await writeStatus(call, e, Status.Disputed);
      call.emit([DISPUTED, uintWord(e.id), addressTopic(call.caller)], new Uint8Array(0));
      return [];
    },
  },
  {
    sig: "resolve(uint256,uint256)",
    inputs: ["uint256", "uint256"],
    outputs: [],
    mutates: true,
    gas: ESCROW_GAS.settle,
    run: async (call, [id, toPayee]) => {
      const e = await loadEscrow(call, id as bigint);
      requireStatus(e, Status.Disputed);
      requireCaller(call, e.arbiter);
      if ((toPayee as bigint) > e.amount) throw EscrowErrors.invalidAmount(toPayee as bigint, e.amount);
      const toPayer = e.amount - (toPayee as bigint);
      await settle(call, e, Status.Resolved, [
        [e.payee, toPayee as bigint],
        [e.payer, toPayer],
      ]);
      call.emit([RESOLVED, uintWord(e.id)], encodeArgs(["uint256", "uint256"], [toPayee as bigint, toPayer]));
      return [];
    },
  },
  {
    sig: "escrows(uint256)",
    inputs: ["uint256"],
    outputs: ["address", "address", "address", "address", "uint256", "uint64", "bytes32", "uint8"],
    mutates: false,
    gas: ESCROW_GAS.view,
    run: async (call, [id]) => {
      const head = await call.load(fieldSlot(id as bigint, Field.Head));
      const zero = new Uint8Array(20);
      // A view: an unknown id reads as the all-zero tuple (status None), as a Solidity mapping would.
      if (head === 0n) return [zero, zero, zero, zero, 0n, 0n, new Uint8Array(32), BigInt(Status.None)];
      const word = async (f: Field) => call.load(fieldSlot(id as bigint, f));
      return [
        toAddress(head),
        toAddress(await word(Field.Payee)),
        toAddress(await word(Field.Arbiter)),
        toAddress(await word(Field.Token)),
        await word(Field.Amount),
        (head >> 160n) & MASK_64,
        uintWord(await word(Field.Terms)),
        head >> 224n,
      ];
    },
  },
  {
    sig: "escrowCount()",
    inputs: [],
    outputs: ["uint256"],
    mutates: false,
    gas: ESCROW_GAS.view,
    run: async (call) => [await call.load(COUNT_SLOT)],
  },
];

export const escrowModule: NativeModule = { address: ESCROW_ADDRESS, def: { name: "Escrow", functions } };
