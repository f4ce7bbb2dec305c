import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { type AbiType, type AbiValue, arrayOf, typeString } from "../abi.js";
import type { FunctionDef, ModuleCall } from "../host.js";
import type { NativeModule } from "../registry.js";
import { acceptMany, claimMany, MAX_BATCH, postMany, submitMany } from "./batch.js";
import { MARKET_ADDRESS, MarketCtx } from "./context.js";
import { MarketErrors } from "./errors.js";
import { Events } from "./events.js";
import { payOut } from "./funds.js";
import {
  accept,
  cancel,
  challenge,
  claim,
  commit,
  finalize,
  post,
  reclaim,
  resolve,
  reveal,
  submit,
  submitMetered,
  vote,
} from "./jobs.js";
import { marketGenesis } from "./params.js";
import {
  DEPOSIT_INFO,
  deposit,
  depositView,
  paymentsDomainSeparator,
  redeemVouchers,
  thaw,
  VOUCHER,
  withdrawDeposit,
} from "./payments.js";
import { credits } from "./storage.js";
import {
  JOB_SPEC,
  JOB_VIEW,
  jobCountView,
  jobView,
  PARAMS,
  paramsView,
  tokenKey,
  WORKER_INFO,
  withdrawableView,
  workersOfKind,
  workerView,
} from "./views.js";
import { addStake, beginUnbond, registerWorker, withdrawUnbonded } from "./workers.js";

export { commitmentOf } from "./jobs.js";
export { type MarketParams, parseMarketParams } from "./params.js";
/**
 * The job market (`0x…0A05`, `contracts/interfaces/IJobMarket.sol`): workers stake AZR and claim
 * paid jobs; requesters escrow AZR or LEARN; results settle by requester acceptance, replay by
 * verifier workers, or an arbiter. Rules, parameters, storage layout and gas: README.md here.
 */
export { MARKET_ADDRESS };

/** Base gas per function (before storage, log and payment costs; see README.md). */
export const MARKET_GAS = {
  view: 300n,
  register: 5_000n,
  stake: 2_000n,
  post: 5_000n,
  claim: 3_000n,
  deliver: 2_000n,
  settle: 5_000n,
  challenge: 5_000n,
  vote: 2_000n,
  withdraw: 2_000n,
  /** Payments: deposit, thaw, withdrawDeposit; redeemVouchers adds 3,000 per voucher (ecrecover). */
  payments: 2_000n,
  redeem: 5_000n,
} as const;

type Run = (ctx: MarketCtx, args: AbiValue[]) => Promise<AbiValue[]>;

/** A function whose Solidity signature is derived from its input types (no hand-typed tuple strings). */
function fn(
  name: string,
  inputs: AbiType[],
  outputs: AbiType[],
  gas: bigint,
  run: Run,
  opts: { view?: boolean; payable?: boolean } = {},
): FunctionDef {
  return {
    sig: `${name}(${inputs.map(typeString).join(",")})`,
    inputs,
    outputs,
    mutates: opts.view !== true,
    payable: opts.payable,
    gas,
    run: (call: ModuleCall, args: AbiValue[]) => run(new MarketCtx(call), args),
  };
}

const G = MARKET_GAS;
/** Base gas of a batch call itself (each item then pays its single function's base). */
const CALL_BATCH_GAS = 1_000n;
const ok = async (p: Promise<unknown>): Promise<AbiValue[]> => {
  await p;
  return [true];
};

const functions: FunctionDef[] = [
  // workers
  fn(
    "registerWorker",
    [arrayOf("bytes32"), "string"],
    ["bool"],
    G.register,
    (ctx, [kinds, endpoint]) => ok(registerWorker(ctx, kinds as Uint8Array[], endpoint as string)),
    { payable: true },
  ),
  fn("addStake", [], ["uint256"], G.stake, async (ctx) => [await addStake(ctx)], { payable: true }),
  fn("beginUnbond", ["uint256"], ["uint64"], G.stake, async (ctx, [amount]) => [
    await beginUnbond(ctx, amount as bigint),
  ]),
  fn("withdrawUnbonded", [], ["uint256"], G.withdraw, async (ctx) => [await withdrawUnbonded(ctx)]),
  fn("worker", ["address"], [WORKER_INFO], G.view, async (ctx, [a]) => [await workerView(ctx, a as Uint8Array)], {
    view: true,
  }),
  fn(
    "workersOfKind",
    ["bytes32", "uint256", "uint256"],
    [arrayOf("address"), "uint256"],
    G.view,
    (ctx, [kind, start, count]) => workersOfKind(ctx, kind as Uint8Array, start as bigint, count as bigint),
    { view: true },
  ),

  // jobs
  fn("post", [JOB_SPEC], ["uint256"], G.post, async (ctx, [spec]) => [await post(ctx, spec as AbiValue[])], {
    payable: true,
  }),
  fn("claim", ["uint256"], ["uint8"], G.claim, async (ctx, [id]) => [BigInt(await claim(ctx, id as bigint))]),
  fn("commit", ["uint256", "bytes32"], ["bool"], G.deliver, (ctx, [id, c]) =>
    ok(commit(ctx, id as bigint, c as Uint8Array)),
  ),
  fn("reveal", ["uint256", "bytes32", "string", "bytes32"], ["bool"], G.deliver, (ctx, [id, hash, uri, salt]) =>
    ok(reveal(ctx, id as bigint, hash as Uint8Array, uri as string, salt as Uint8Array)),
  ),
  fn("submit", ["uint256", "bytes32", "string"], ["bool"], G.deliver, (ctx, [id, hash, uri]) =>
    ok(submit(ctx, id as bigint, hash as Uint8Array, uri as string)),
  ),
  fn(
    "submitMetered",
    ["uint256", "bytes32", "string", "uint256"],
    ["bool"],
    G.deliver,
    (ctx, [id, hash, uri, earned]) =>
      ok(submitMetered(ctx, id as bigint, hash as Uint8Array, uri as string, earned as bigint)),
  ),
  fn("accept", ["uint256"], ["bool"], G.settle, (ctx, [id]) => ok(accept(ctx, id as bigint))),
  // batches: the base gas is the single function's, charged per item before its work (batch.ts)
  fn(
    "postMany",
    [arrayOf(JOB_SPEC)],
    [arrayOf("uint256")],
    CALL_BATCH_GAS,
    async (ctx, [specs]) => [await postMany(ctx, specs as AbiValue[][], G.post)],
    { payable: true },
  ),
  fn("claimMany", [arrayOf("uint256")], [arrayOf("bool")], CALL_BATCH_GAS, async (ctx, [ids]) => [
    await claimMany(ctx, ids as bigint[], G.claim),
  ]),
  fn(
    "submitMany",
    [arrayOf("uint256"), arrayOf("bytes32"), arrayOf("string")],
    [arrayOf("bool")],
    CALL_BATCH_GAS,
    async (ctx, [ids, hashes, uris]) => [
      await submitMany(ctx, ids as bigint[], hashes as Uint8Array[], uris as string[], G.deliver),
    ],
  ),
  fn("acceptMany", [arrayOf("uint256")], [arrayOf("bool")], CALL_BATCH_GAS, async (ctx, [ids]) => [
    await acceptMany(ctx, ids as bigint[], G.settle),
  ]),
  fn(
    "challenge",
    ["uint256", "string"],
    ["bool"],
    G.challenge,
    (ctx, [id, evidence]) => ok(challenge(ctx, id as bigint, evidence as string)),
    { payable: true },
  ),
  fn("vote", ["uint256", "bytes32"], ["bool"], G.vote, (ctx, [id, hash]) =>
    ok(vote(ctx, id as bigint, hash as Uint8Array)),
  ),
  fn("resolve", ["uint256", "uint16"], ["bool"], G.settle, (ctx, [id, bps]) =>
    ok(resolve(ctx, id as bigint, bps as bigint)),
  ),
  fn("finalize", ["uint256"], ["bool"], G.settle, (ctx, [id]) => ok(finalize(ctx, id as bigint))),
  fn("cancel", ["uint256"], ["bool"], G.settle, (ctx, [id]) => ok(cancel(ctx, id as bigint))),
  fn("reclaim", ["uint256"], ["bool"], G.settle, (ctx, [id]) => ok(reclaim(ctx, id as bigint))),
  fn("withdraw", ["address"], ["uint256"], G.withdraw, async (ctx, [token]) => [
    await withdraw(ctx, token as Uint8Array),
  ]),

  // views
  fn("job", ["uint256"], [JOB_VIEW], G.view, async (ctx, [id]) => [await jobView(ctx, id as bigint)], {
    view: true,
  }),
  fn(
    "jobs",
    [arrayOf("uint256")],
    [arrayOf(JOB_VIEW)],
    G.view,
    async (ctx, [ids]) => {
      const list = ids as bigint[];
      if (list.length > MAX_BATCH) throw MarketErrors.batchSize(BigInt(list.length), BigInt(MAX_BATCH));
      const out: AbiValue[] = [];
      for (const id of list) {
        ctx.call.charge(G.view);
        out.push(await jobView(ctx, id));
      }
      return [out];
    },
    { view: true },
  ),
  fn("jobCount", [], ["uint256"], G.view, async (ctx) => [await jobCountView(ctx)], { view: true }),
  fn(
    "withdrawable",
    ["address", "address"],
    ["uint256"],
    G.view,
    async (ctx, [account, token]) => [await withdrawableView(ctx, account as Uint8Array, token as Uint8Array)],
    { view: true },
  ),
  fn("params", [], [PARAMS], G.view, async (ctx) => [await paramsView(ctx)], { view: true }),

  // metered payments (IMarketPayments): deposits, thaw, vouchers
  fn(
    "deposit",
    ["address", "address", "uint256"],
    ["uint256"],
    G.payments,
    async (ctx, [payee, token, amount]) => [
      await deposit(ctx, payee as Uint8Array, token as Uint8Array, amount as bigint),
    ],
    { payable: true },
  ),
  fn("thaw", ["address", "address", "uint256"], ["uint64"], G.payments, async (ctx, [payee, token, amount]) => [
    await thaw(ctx, payee as Uint8Array, token as Uint8Array, amount as bigint),
  ]),
  fn("withdrawDeposit", ["address", "address"], ["uint256"], G.payments, async (ctx, [payee, token]) => [
    await withdrawDeposit(ctx, payee as Uint8Array, token as Uint8Array),
  ]),
  fn("redeemVouchers", [arrayOf(VOUCHER), arrayOf("bytes")], ["uint256"], G.redeem, async (ctx, [vs, sigs]) => [
    await redeemVouchers(ctx, vs as AbiValue[][], sigs as Uint8Array[]),
  ]),
  fn(
    "deposits",
    ["address", "address", "address"],
    [DEPOSIT_INFO],
    G.view,
    async (ctx, [payer, payee, token]) => [
      await depositView(ctx, payer as Uint8Array, payee as Uint8Array, token as Uint8Array),
    ],
    { view: true },
  ),
  fn(
    "PAYMENTS_DOMAIN_SEPARATOR",
    [],
    ["bytes32"],
    G.view,
    async (ctx) => [paymentsDomainSeparator(ctx.call.evm.common.chainId())],
    { view: true },
  ),
];

/** Pays the caller's whole credit in `token` (AZR = address(0), or LEARN): state first, then the move. */
async function withdraw(ctx: MarketCtx, token: Uint8Array): Promise<bigint> {
  const learn = tokenKey(token);
  const me = ctx.caller;
  const amount = await credits.get(ctx.call, me, learn);
  if (amount === 0n) throw MarketErrors.nothingToWithdraw(me, token);
  await credits.set(ctx.call, me, learn, 0n);
  await payOut(ctx, me, learn, amount);
  Events.Withdrawn(ctx.call, [me, token], [amount]);
  return amount;
}

export const marketModule: NativeModule = {
  address: MARKET_ADDRESS,
  def: { name: "Market", functions },
  genesis: (state: MerkleStateManager, params: unknown) => marketGenesis(state, MARKET_ADDRESS, params),
};
