// The EVM call-frame levers of issue 14 (evmx14), A/B in one process: OZ ERC-20 transfers and OZ NFT mints
// run in blocks through `BlockExecution` (bench/execution.ts's world), each round once per configuration in
// alternating order, so the load of a shared machine falls on all of them alike. Reports apply CPU µs/tx, and
// CPU µs per eth_call of the token's balanceOf.
//
//   node dist/bench/evmFrameLevers.js [--rounds 8] [--txs 400] [--block 100]
import { parseArgs } from "node:util";
import { Address } from "@ethereumjs/util";
import { Interface } from "ethers";
import { loadArtifact } from "../contracts/artifacts.js";
import { INLINE_STEPS, WORD_OPS } from "../runtime/evm/stepLoop.js";
import { hexToBytes } from "../runtime/primitives/bytes.js";
import { freshWorld, runBlocks, signed, TOKEN_URI } from "./execution.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/evmFrameLevers.js [--rounds R] [--txs N] [--block N]

The EVM call-frame levers A/B in one process: OZ ERC-20 transfers and NFT mints in blocks through
BlockExecution, once per configuration per round in alternating order; CPU µs/tx and per balanceOf eth_call.

Options:
  --rounds <n>    rounds (default 8)
  --txs <n>       transactions per workload and round (default 400)
  --block <n>     transactions per block (default 100)
  -h, --help      show this help`;

interface Config {
  name: string;
  inlineSteps: boolean;
  wordOps: boolean;
}

const CONFIGS: Config[] = [
  { name: "ethereumjs steps", inlineSteps: false, wordOps: false },
  { name: "inline steps", inlineSteps: true, wordOps: false },
  { name: "inline steps, word ops", inlineSteps: true, wordOps: true },
];

const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: {
      rounds: { type: "string", default: "8" },
      txs: { type: "string", default: "400" },
      block: { type: "string", default: "100" },
    },
  }),
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const rounds = Number(values.rounds);
  const txs = Number(values.txs);
  const block = Number(values.block);
  const w = await freshWorld();
  const senders = w.addresses.length;
  const token = loadArtifact("TestToken");
  const tokenIface = new Interface(token.abi as string[]);
  const nft = loadArtifact("BenchNFT");
  const setup = [signed(w, 0, undefined, token.bytecode + tokenIface.encodeDeploy([10n ** 30n]).slice(2), 5_000_000n)];
  for (let s = 0; s < senders; s++) setup.push(signed(w, s, undefined, nft.bytecode, 5_000_000n));
  const { receipts } = await runBlocks(w, setup, setup.length);
  const tokenAddress = new Address(receipts[0].contractAddress as Uint8Array).toString();
  const nfts = receipts.slice(1).map((r) => new Address(r.contractAddress as Uint8Array).toString());
  const funding = w.addresses
    .slice(1)
    .map((a) => signed(w, 0, tokenAddress, tokenIface.encodeFunctionData("transfer", [a, 10n ** 27n]), 80_000n));
  await runBlocks(w, funding, funding.length);
  const mintIface = new Interface(["function mint(address to, string uri) returns (uint256)"]);
  let recipient = 0xbe00000000n;
  const to = () => `0x${(recipient++).toString(16).padStart(40, "0")}`;
  const workloads = {
    "ERC-20 transfer (OZ)": () =>
      Array.from({ length: txs }, (_, i) =>
        signed(w, i % senders, tokenAddress, tokenIface.encodeFunctionData("transfer", [to(), 1n]), 80_000n),
      ),
    "NFT mint (OZ)": () =>
      Array.from({ length: txs }, (_, i) =>
        signed(w, i % senders, nfts[i % senders], mintIface.encodeFunctionData("mint", [to(), TOKEN_URI]), 250_000n),
      ),
  };
  const evm = w.vm.evm as unknown as { [INLINE_STEPS]?: boolean; [WORD_OPS]?: boolean };
  const configure = (c: Config) => {
    evm[INLINE_STEPS] = c.inlineSteps;
    evm[WORD_OPS] = c.wordOps;
  };
  for (const [name, make] of Object.entries(workloads)) {
    // warm-up, untimed
    for (const c of CONFIGS) {
      configure(c);
      await runBlocks(w, make(), block);
    }
    const cpu: number[][] = CONFIGS.map(() => []);
    for (let r = 0; r < rounds; r++) {
      const order = CONFIGS.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const batch = make();
        configure(CONFIGS[i]);
        cpu[i].push((await runBlocks(w, batch, block)).applyCpuMicros);
      }
    }
    console.log(`${name}: apply CPU µs/tx per round (median)`);
    for (const [i, c] of CONFIGS.entries()) {
      const ratios = cpu[i].map((x, r) => x / cpu[0][r]);
      console.log(
        `  ${c.name.padEnd(32)} ${cpu[i].join(" / ")} (${median(cpu[i])}; ratio to the first, median ${median(ratios).toFixed(3)})`,
      );
    }
  }
  // eth_call balanceOf (OZ ERC-20), state thrown away as the RPC does: CPU µs per call
  const balanceOf = hexToBytes(tokenIface.encodeFunctionData("balanceOf", [w.addresses[1]]) as `0x${string}`);
  const caller = new Address(hexToBytes(w.addresses[0] as `0x${string}`));
  const tokenAt = new Address(hexToBytes(tokenAddress as `0x${string}`));
  const calls = async (n: number) => {
    const c0 = process.cpuUsage();
    for (let k = 0; k < n; k++) {
      await w.vm.stateManager.checkpoint();
      await w.vm.evm.runCall({ caller, to: tokenAt, data: balanceOf, gasLimit: 1_000_000n, skipBalance: true });
      await w.vm.stateManager.revert();
    }
    const c = process.cpuUsage(c0);
    return Math.round(((c.user + c.system) / n) * 10) / 10;
  };
  const perCall: number[][] = CONFIGS.map(() => []);
  for (const c of CONFIGS) {
    configure(c);
    await calls(txs);
  }
  for (let r = 0; r < rounds; r++) {
    const order = CONFIGS.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      configure(CONFIGS[i]);
      perCall[i].push(await calls(txs * 5));
    }
  }
  console.log("eth_call balanceOf (OZ ERC-20): CPU µs/call per round (median)");
  for (const [i, c] of CONFIGS.entries()) {
    const ratios = perCall[i].map((x, r) => x / perCall[0][r]);
    console.log(
      `  ${c.name.padEnd(32)} ${perCall[i].join(" / ")} (${median(perCall[i])}; ratio to the first, median ${median(ratios).toFixed(3)})`,
    );
  }
}

await main();
