import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { HDNodeWallet } from "ethers";
import { DEV_MNEMONIC, devAccountPath } from "../genesis/devnet.js";
import devnetJSON from "../genesis/devnet.json" with { type: "json" };
import { createNetworkGenesis, type MarketPreset } from "../genesis/network.js";
import { bytesToHex } from "../runtime/primitives/bytes.js";
import { publicKeyFromSeed } from "./crypto/ed25519.js";

export interface InitOptions {
  validators: number;
  fullNodes: number;
  out: string;
  basePort: number;
  chainId: number;
  /** Offset from the RPC port to the libp2p port of node 0 (node i: basePort + p2pOffset + i). */
  p2pOffset: number;
  /** Overrides genesis `consensus.emptyBlockIntervalMs` (how often an idle chain makes a block). */
  emptyBlockIntervalMs?: number;
  /** Job market parameters written into genesis (`modules.market`); default `devnet`. */
  marketPreset?: MarketPreset;
}

export interface InitResult {
  homes: string[];
  rpcUrls: string[];
  genesisFile: string;
}

export async function peerIdOfSeed(seed: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPairFromSeed("Ed25519", seed)).toString();
}

function writeSecret(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * `azora init`: a genesis with `validators` fresh ed25519 validator keys and one home per node
 * (`out/node0` … ), each with its keys, a copy of the genesis and a config whose bootstrap list
 * names every other node. Node i serves JSON-RPC on basePort+i and libp2p on basePort+p2pOffset+i.
 * Full nodes (no validator key) come after the validators.
 */
export async function initNetwork(o: InitOptions): Promise<InitResult> {
  const out = resolve(o.out);
  if (existsSync(join(out, "genesis.json"))) throw new Error(`${out} already holds a network (genesis.json exists)`);
  const total = o.validators + o.fullNodes;
  if (o.validators < 1 || total > 100) throw new Error("1 to 100 nodes");
  const feeRecipients = Object.keys(devnetJSON.alloc);
  const nodes = await Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const nodeSeed = new Uint8Array(randomBytes(32));
      const validatorSeed = i < o.validators ? new Uint8Array(randomBytes(32)) : null;
      return {
        name: `node${i}`,
        nodeSeed,
        validatorSeed,
        peerId: await peerIdOfSeed(nodeSeed),
        rpcPort: o.basePort + i,
        p2pPort: o.basePort + o.p2pOffset + i,
      };
    }),
  );
  const genesis: ReturnType<typeof createNetworkGenesis> = createNetworkGenesis({
    chainId: o.chainId,
    networkName: "azora-localnet",
    genesisTime: Math.floor(Date.now() / 1000),
    marketPreset: o.marketPreset,
    validators: nodes
      .filter((n) => n.validatorSeed !== null)
      .map((n, i) => ({
        name: n.name,
        publicKey: bytesToHex(publicKeyFromSeed(n.validatorSeed as Uint8Array)),
        power: 10,
        feeRecipient: (feeRecipients[i % feeRecipients.length] as string).toLowerCase(),
        // Each validator is self-staked by dev account i (the test mnemonic's path m/44'/60'/0'/0/i;
        // funded for i < 10), so `azora validator edit|unjail --dev-account i` works on it.
        operator: HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)).address,
      })),
  });
  if (o.emptyBlockIntervalMs !== undefined) genesis.consensus.emptyBlockIntervalMs = o.emptyBlockIntervalMs;
  mkdirSync(out, { recursive: true });
  const genesisText = `${JSON.stringify(genesis, null, 2)}\n`;
  writeFileSync(join(out, "genesis.json"), genesisText);
  const homes: string[] = [];
  for (const n of nodes) {
    const home = join(out, n.name);
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, "genesis.json"), genesisText);
    writeSecret(join(home, "node_key.json"), { seed: bytesToHex(n.nodeSeed), peerId: n.peerId });
    if (n.validatorSeed !== null) {
      writeSecret(join(home, "validator_key.json"), {
        seed: bytesToHex(n.validatorSeed),
        publicKey: bytesToHex(publicKeyFromSeed(n.validatorSeed)),
      });
    }
    const config = {
      dataDir: "data",
      genesisFile: "genesis.json",
      nodeKeyFile: "node_key.json",
      ...(n.validatorSeed !== null ? { validatorKeyFile: "validator_key.json" } : {}),
      rpc: { host: "127.0.0.1", port: n.rpcPort },
      p2p: {
        listen: [`/ip4/127.0.0.1/tcp/${n.p2pPort}`],
        bootstrap: nodes.filter((m) => m !== n).map((m) => `/ip4/127.0.0.1/tcp/${m.p2pPort}/p2p/${m.peerId}`),
      },
      log: { level: "info" },
    };
    writeFileSync(join(home, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
    homes.push(home);
  }
  return { homes, rpcUrls: nodes.map((n) => `http://127.0.0.1:${n.rpcPort}`), genesisFile: join(out, "genesis.json") };
}
