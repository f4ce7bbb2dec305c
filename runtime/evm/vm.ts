import { createBlock, type Block as EthBlock } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import { type EVMMockBlockchainInterface, getActivePrecompiles } from "@ethereumjs/evm";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address } from "@ethereumjs/util";
import { createVM, type VM } from "@ethereumjs/vm";
import { AzoraEVM, modulePrecompiles, NATIVE_MODULES, resolveDynamicPrecompile } from "../modules/index.js";

/** Where BLOCKHASH looks: the hashes of committed blocks, supplied by the node. */
export interface BlockHashLookup {
  getBlockHash(number: bigint): Promise<Uint8Array | undefined>;
}

/** The per-block values the EVM reads (COINBASE, NUMBER, TIMESTAMP, GASLIMIT, BASEFEE, PREVRANDAO). */
export interface BlockEnv {
  number: bigint;
  timestamp: bigint;
  gasLimit: bigint;
  baseFeePerGas: bigint;
  /** Fee recipient of the proposer (COINBASE). */
  miner: Uint8Array;
  parentHash: Uint8Array;
}

/**
 * 0x0a is the KZG point-evaluation precompile; without a KZG setup any call to it makes runTx THROW
 * ("kzg not initialized"), even a plain value transfer: a crash path for hostile input. Azora has no
 * blob transactions, so the precompile is removed and 0x0a behaves like any empty account.
 */
const KZG_POINT_EVALUATION = "0x000000000000000000000000000000000000000a";

/** geth's precompile names (`vm.PrecompiledContract.Name()`, what eth_config lists), by address. */
const GETH_PRECOMPILE_NAMES: Readonly<Record<string, string>> = {
  "0000000000000000000000000000000000000001": "ECREC",
  "0000000000000000000000000000000000000002": "SHA256",
  "0000000000000000000000000000000000000003": "RIPEMD160",
  "0000000000000000000000000000000000000004": "ID",
  "0000000000000000000000000000000000000005": "MODEXP",
  "0000000000000000000000000000000000000006": "BN254_ADD",
  "0000000000000000000000000000000000000007": "BN254_MUL",
  "0000000000000000000000000000000000000008": "BN254_PAIRING",
  "0000000000000000000000000000000000000009": "BLAKE2F",
  "000000000000000000000000000000000000000a": "KZG_POINT_EVALUATION",
  "000000000000000000000000000000000000000b": "BLS12_G1ADD",
  "000000000000000000000000000000000000000c": "BLS12_G1MSM",
  "000000000000000000000000000000000000000d": "BLS12_G2ADD",
  "000000000000000000000000000000000000000e": "BLS12_G2MSM",
  "000000000000000000000000000000000000000f": "BLS12_PAIRING_CHECK",
  "0000000000000000000000000000000000000010": "BLS12_MAP_FP_TO_G1",
  "0000000000000000000000000000000000000011": "BLS12_MAP_FP2_TO_G2",
  "0000000000000000000000000000000000000100": "P256VERIFY",
};

/**
 * Every precompile the Azora EVM answers at a fixed address, by name: Ethereum's of the hardfork
 * (geth's names; not KZG, removed above) and the native modules (`AZORA_` + the module's name).
 * NFT collections live in an address range and are not listed.
 */
export function precompileDirectory(common: Common): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const active = getActivePrecompiles(common, [{ address: KZG_POINT_EVALUATION }]);
  for (const [address, fn] of active) {
    if (fn === undefined) continue;
    const name = GETH_PRECOMPILE_NAMES[address] ?? `PRECOMPILE_${address.replace(/^0+/, "")}`;
    out[name] = Uint8Array.from(Buffer.from(address, "hex"));
  }
  for (const m of NATIVE_MODULES) {
    const name = m.def.name
      .replace(/([a-z])([A-Z])/g, "$1_$2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
      .toUpperCase();
    out[`AZORA_${name}`] = m.address.bytes;
  }
  return out;
}

class HashLookupBlockchain implements EVMMockBlockchainInterface {
  constructor(private readonly lookup: BlockHashLookup) {}
  async getBlock(blockId: number) {
    const hash = (await this.lookup.getBlockHash(BigInt(blockId))) ?? new Uint8Array(32);
    return { hash: () => hash };
  }
  async putBlock(): Promise<void> {}
  shallowCopy(): EVMMockBlockchainInterface {
    return this;
  }
}

/** A VM whose EVM knows the native modules (precompiles at 0x…0A01 on) and its call frames. */
export async function createAzoraVM(
  common: Common,
  stateManager: MerkleStateManager,
  hashes: BlockHashLookup,
): Promise<VM> {
  const blockchain = new HashLookupBlockchain(hashes);
  const evm = new AzoraEVM(
    {
      common,
      stateManager,
      blockchain,
      customPrecompiles: [{ address: KZG_POINT_EVALUATION }, ...modulePrecompiles(NATIVE_MODULES)],
    },
    resolveDynamicPrecompile,
  );
  return createVM({ common, stateManager, blockchain, evm });
}

/**
 * The ethereumjs block object the VM wants as context. PREVRANDAO is the parent hash: deterministic,
 * and not a source of randomness (documented for dApp developers).
 */
export function ethBlockForEnv(common: Common, env: BlockEnv): EthBlock {
  return createBlock(
    {
      header: {
        number: env.number,
        timestamp: env.timestamp,
        gasLimit: env.gasLimit,
        baseFeePerGas: env.baseFeePerGas,
        coinbase: new Address(env.miner),
        parentHash: env.parentHash,
        mixHash: env.parentHash,
      },
    },
    { common, skipConsensusFormatValidation: true },
  );
}

/** EIP-7702's delegation designator prefix (0xef0100) followed by a zero address. */
const DELEGATION_DESIGNATOR = Uint8Array.from([0xef, 0x01, 0x00, ...new Uint8Array(20)]);

/**
 * Lets the next transaction of `sender` run although `sender` has code: what geth does for eth_call
 * and eth_estimateGas (`SkipFromEOACheck`) and Anvil for an impersonated contract. ethereumjs has no
 * switch for EIP-3607 (revm's `disable_eip3607`): its check reads the sender's code once, before
 * anything runs, and lets a 7702-delegated EOA through. So the first code read of a contract `sender`
 * answers a delegation designator; every later read (the sender called during the transaction) sees
 * its real code. State is never touched. Returns the undo, to call when the transaction is done.
 */
export function liftEIP3607Once(vm: VM, sender: Address): () => void {
  const sm = vm.stateManager;
  const getCode = sm.getCode;
  let answered = false;
  sm.getCode = async (address: Address) => {
    if (!answered && address.equals(sender)) {
      answered = true;
      const code = await getCode.call(sm, address);
      // Only contract code is disguised: an EOA's code is read first by the EVM (the check reads
      // nothing for it), and a delegation designator — maybe set by this very transaction — passes.
      const isContract = code.length > 0 && !(code[0] === 0xef && code[1] === 0x01 && code[2] === 0x00);
      return isContract ? DELEGATION_DESIGNATOR : code;
    }
    return getCode.call(sm, address);
  };
  return () => {
    sm.getCode = getCode;
  };
}
