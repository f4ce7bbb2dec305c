import {
  Contract,
  ContractFactory,
  encodeBytes32String,
  JsonRpcProvider,
  parseEther,
  type TransactionResponse,
  Wallet,
  ZeroAddress,
} from "ethers";
import { IEscrowAbi } from "../../contracts/artifacts/IEscrow.js";
import { IGovernanceAbi } from "../../contracts/artifacts/IGovernance.js";
import { IJobMarketAbi } from "../../contracts/artifacts/IJobMarket.js";
import { IStakingAbi } from "../../contracts/artifacts/IStaking.js";
import { TestTokenAbi, TestTokenBytecode } from "../../contracts/artifacts/TestToken.js";
import { DEV_KEYS } from "../utils/devnode.js";

const AZR = 10n ** 18n;
/** The genesis validator's moniker once `makePlatformActivity` named it. */
export const MONIKER = "Aurora validator";
const at = (n: number) => `0x${"0".repeat(36)}${n.toString(16).padStart(4, "0")}`;

/** What `makePlatformActivity` put on chain, for the assertions. */
export interface PlatformActivity {
  validator: string;
  delegator: string;
  token: string;
  /** A proposal passed and executed (Yes 40 AZR), and the execution's transaction. */
  executedId: number;
  executeTx: string;
  /** A proposal still voting, Yes 10 / No 30 AZR. */
  proposalId: number;
  /** The proposal's description (what full-text search finds). */
  description: string;
  voteTxs: string[];
  escrowId: number;
  escrowTxs: string[];
  jobId: number;
  jobTxs: string[];
  worker: string;
  requester: string;
  lastBlock: number;
}

/**
 * The platform modules in use on a dev node, from its genesis validator (dev account 0): an ERC-20 ("Test Token",
 * TTK); the validator named (MONIKER); a delegation of 30 AZR to the validator; a proposal passed by the validator's
 * vote and executed after its voting period and timelock; a proposal (raise the block gas limit) with its 10 AZR
 * deposit, voted Yes by the validator and No by the delegator — a live tally of 10 Yes / 30 No, as the module's own test
 * shows (test/ledger/governance.test.ts); an escrow created, disputed and resolved by its arbiter; a job posted,
 * claimed, submitted and accepted (test/ledger/marketFixture.ts's defaults: 1 AZR, one worker, requester-accept).
 */
export async function makePlatformActivity(url: string): Promise<PlatformActivity> {
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
  const dev = DEV_KEYS.map((k) => new Wallet(k, provider));
  const [validator, , delegator, arbiter, worker, requester, payee] = [0, 1, 2, 3, 4, 5, 6].map((i) => dev[i]);
  const mined = async (p: Promise<TransactionResponse>) => {
    const tx = await p;
    const r = await provider.waitForTransaction(tx.hash);
    if (r?.status !== 1) throw new Error(`transaction ${tx.hash} failed`);
    return tx.hash;
  };
  const module = (n: number, abi: unknown, w: Wallet) => new Contract(at(n), abi as never, w);

  const token = await new ContractFactory(TestTokenAbi as never, TestTokenBytecode, validator).deploy(1_000_000n);
  await token.waitForDeployment();

  const staking = module(0x0a06, IStakingAbi, validator);
  const { commissionBps } = await staking.validator(validator.address);
  await mined(staking.editValidator(commissionBps, MONIKER)); // same commission: only the moniker changes
  await mined(module(0x0a06, IStakingAbi, delegator).delegate(validator.address, { value: 30n * AZR }));
  const gov = module(0x0a07, IGovernanceAbi, validator);
  const gasLimitKey = encodeBytes32String("block.gasLimit");
  const propose = async (gasLimit: bigint, text: string) => {
    await mined(gov.propose([[0, gasLimitKey, gasLimit, ZeroAddress, ""]], text, { value: 10n * AZR }));
    return Number(await gov.proposalCount());
  };
  // First a proposal that passes and is executed: the validator's Yes carries its delegator's 30 AZR. The dev
  // node's clock is moved past the voting period, then past the timelock (evm_increaseTime, as the CLI test does).
  const executedId = await propose(65_000_000n, "ipfs://bafkrei-sixty-five: block gas limit 65M");
  await mined(gov.vote(executedId, 1));
  const { votingPeriod, timelock } = await gov.params();
  await provider.send("evm_increaseTime", [Number(votingPeriod) + 1]);
  await provider.send("evm_mine", []);
  await provider.send("evm_increaseTime", [Number(timelock) + 1]);
  await provider.send("evm_mine", []);
  const executeTx = await mined(module(0x0a07, IGovernanceAbi, dev[8]).execute(executedId));

  const description = "ipfs://bafkrei-raise-gas: raise the block gas limit to seventy million for bigger batches";
  const proposalId = await propose(70_000_000n, description);
  const voteTxs = [
    await mined(module(0x0a07, IGovernanceAbi, validator).vote(proposalId, 1)),
    await mined(module(0x0a07, IGovernanceAbi, delegator).vote(proposalId, 2)),
  ];

  const now = (await provider.getBlock("latest"))?.timestamp ?? 0;
  const escrow = module(0x0a04, IEscrowAbi, requester);
  const escrowTxs = [
    await mined(
      escrow.create(payee.address, arbiter.address, ZeroAddress, 2n * AZR, now + 3600, `0x${"11".repeat(32)}`, {
        value: 2n * AZR,
      }),
    ),
  ];
  const escrowId = Number(await escrow.escrowCount());
  escrowTxs.push(await mined(escrow.dispute(escrowId)));
  escrowTxs.push(await mined(module(0x0a04, IEscrowAbi, arbiter).resolve(escrowId, parseEther("0.5"))));

  const kind = encodeBytes32String("ai/onnx");
  const market = (w: Wallet) => module(0x0a05, IJobMarketAbi, w);
  await mined(market(worker).registerWorker([kind], "http://127.0.0.1:9/worker", { value: 10n * AZR }));
  const price = AZR;
  const spec = [
    kind,
    "ipfs://bafkrei-spec",
    `0x${"ab".repeat(32)}`,
    ZeroAddress,
    price,
    1,
    600,
    600,
    600,
    0,
    ZeroAddress,
  ];
  const jobTxs = [await mined(market(requester).post(spec, { value: price + price / 100n }))];
  const jobId = Number(await market(requester).jobCount());
  jobTxs.push(await mined(market(worker).claim(jobId)));
  jobTxs.push(await mined(market(worker).submit(jobId, `0x${"cd".repeat(32)}`, "ipfs://bafkrei-result")));
  jobTxs.push(await mined(market(requester).accept(jobId)));

  const lastBlock = await provider.getBlockNumber();
  provider.destroy();
  return {
    validator: validator.address.toLowerCase(),
    delegator: delegator.address.toLowerCase(),
    token: (await token.getAddress()).toLowerCase(),
    executedId,
    executeTx,
    proposalId,
    description,
    voteTxs,
    escrowId,
    escrowTxs,
    jobId,
    jobTxs,
    worker: worker.address.toLowerCase(),
    requester: requester.address.toLowerCase(),
    lastBlock,
  };
}
