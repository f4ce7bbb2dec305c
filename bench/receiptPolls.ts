// `node dist/bench/receiptPolls.js [--cli FILE] [--polls N] [--callers N] [--method receipt|tx]`: the node's
// CPU per eth_getTransactionReceipt (or eth_getTransactionByHash) poll of mined transactions, as a wallet or
// a load generator waiting for confirmations asks it. A fresh `azora dev` (the given CLI: another build's for an A/B) gets a TestToken
// and 50 transfers (one log each); then `--callers` clients poll those receipts round-robin over
// keep-alive HTTP, once untimed and once timed, and the node's CPU (/proc) is divided by the polls.

import { Interface, Wallet } from "ethers";
import { loadArtifact, repoRoot } from "../contracts/artifacts.js";
import { positiveInt, readFlags, UsageError } from "./args.js";
import { DEV_KEYS } from "./devKeys.js";
import { killAllStarted, startAzora } from "./procs.js";
import { RpcClient } from "./rpc.js";

const HELP = `Usage: node dist/bench/receiptPolls.js [--cli FILE] [--polls N] [--callers N] [--method receipt|tx]
A fresh azora dev node's CPU per receipt (or transaction) poll, with concurrent pollers over HTTP.
  --cli FILE     the azora CLI to run (default dist/node/cli.js of this checkout)
  --polls N      timed polls (default 20000; as many untimed first)
  --callers N    concurrent pollers (default 16)
  --method M     receipt: eth_getTransactionReceipt (default); tx: eth_getTransactionByHash`;

const TRANSFERS = 50;

async function main(): Promise<void> {
  const root = repoRoot();
  let cli = `${root}/dist/node/cli.js`;
  let polls = 20_000;
  let callers = 16;
  let method = "eth_getTransactionReceipt";
  const ok = readFlags(process.argv.slice(2), (flag, next) => {
    if (flag === "--cli") cli = next();
    else if (flag === "--polls") polls = positiveInt(flag, next());
    else if (flag === "--callers") callers = positiveInt(flag, next(), 1000);
    else if (flag === "--method") {
      const m = next();
      if (m !== "receipt" && m !== "tx") throw new UsageError("--method must be receipt or tx");
      method = m === "tx" ? "eth_getTransactionByHash" : "eth_getTransactionReceipt";
    } else throw new UsageError(`unknown option ${flag}`);
  });
  if (!ok) {
    console.log(HELP);
    return;
  }
  const proc = await startAzora(cli, root, []);
  try {
    const rpc = new RpcClient(proc.url);
    const token = loadArtifact("TestToken");
    const iface = new Interface(token.abi as string[]);
    const owner = new Wallet(DEV_KEYS[0]);
    const chainId = BigInt(await rpc.call<string>("eth_chainId"));
    const fees = { type: 2, chainId, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 1n };
    const receipt = async (hash: string) => {
      for (;;) {
        const r = await rpc.call<{ contractAddress: string | null; logs: unknown[] } | null>(
          "eth_getTransactionReceipt",
          [hash],
        );
        if (r !== null) return r;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const deploy = await owner.signTransaction({
      ...fees,
      nonce: 0,
      to: null,
      data: token.bytecode + iface.encodeDeploy([10n ** 24n]).slice(2),
      gasLimit: 3_000_000n,
    });
    const address = (await receipt(await rpc.call<string>("eth_sendRawTransaction", [deploy]))).contractAddress;
    const hashes: string[] = [];
    for (let i = 0; i < TRANSFERS; i++) {
      const raw = await owner.signTransaction({
        ...fees,
        nonce: 1 + i,
        to: address,
        data: iface.encodeFunctionData("transfer", [`0x${(0x1000 + i).toString(16).padStart(40, "0")}`, 1n]),
        gasLimit: 100_000n,
      });
      hashes.push(await rpc.call<string>("eth_sendRawTransaction", [raw]));
    }
    for (const h of hashes) await receipt(h);

    for (const timed of [false, true]) {
      let next = 0;
      const cpu0 = proc.cpuSeconds();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (next < polls) {
            const hash = hashes[next++ % hashes.length];
            const r = await rpc.call<{ logs?: unknown[]; blockNumber?: string | null } | null>(method, [hash]);
            const mined = method === "eth_getTransactionByHash" ? r?.blockNumber != null : r?.logs?.length === 1;
            if (!mined) throw new Error(`${method}(${hash}): ${JSON.stringify(r)}`);
          }
        }),
      );
      const cpu1 = proc.cpuSeconds();
      if (!timed) continue;
      const sec = (performance.now() - t0) / 1000;
      const micros = cpu0 === null || cpu1 === null ? "?" : (((cpu1 - cpu0) * 1e6) / polls).toFixed(1);
      console.log(`${cli}: ${polls} ${method} polls, node CPU ${micros} µs/poll, ${(polls / sec).toFixed(0)} polls/s`);
    }
  } finally {
    await proc.stop();
  }
}

main().catch((e) => {
  killAllStarted();
  console.error(e instanceof UsageError ? `${e.message}\n${HELP}` : e);
  process.exitCode = 1;
});
