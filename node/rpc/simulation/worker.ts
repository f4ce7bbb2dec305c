/**
 * A simulation worker: runs eth_call / eth_estimateGas / eth_createAccessList (any `SimulationJob`)
 * on its own thread, so EVM work never holds the thread that runs consensus and block production.
 *
 * State is read through the main thread, which has the one LevelDB handle of the process: each
 * trie node or code the worker misses costs one message round trip, and is then kept in the
 * worker's cache (nodes are content-addressed, so cached ones never go stale). The pool runs one
 * job at a time here and terminates the thread when a job overruns its time budget.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { getHeapStatistics } from "node:v8";
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type { Common } from "@ethereumjs/common";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address, KECCAK256_RLP } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { ExecutionRevertedError, isRPCError, LimitExceededError, SimulationError } from "../../../rpc/errors.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { type BlockHashLookup, createAzoraVM } from "../../../runtime/evm/vm.js";
import { equalsBytes } from "../../../runtime/primitives/bytes.js";
import { type TrieNodeReader, TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { openWorldState, READER_STATE_OPTIONS } from "../../../runtime/state/worldState.js";
import { nameThisThread, THREAD_NAMES } from "../../threadName.js";
import { CallReadRecorder } from "./callReads.js";
import { type JobEnv, runJob } from "./jobs.js";
import {
  type FromWorker,
  type HostRead,
  type SimulationWorkerData,
  type ToWorker,
  type WireError,
  WORKER_HEAP_REPORT_MS,
} from "./protocol.js";
import type { SimulateOptions, SimulationView } from "./simulate.js";

/**
 * Niceness of the worker thread (Linux: per thread). When cores are scarce the scheduler then
 * prefers the main thread, which votes, proposes and commits, over simulations.
 */
const WORKER_NICENESS = 10;

const port = parentPort;
if (port === null) throw new Error("the simulation worker must run in a worker thread");
const data = workerData as SimulationWorkerData;

function lowerPriority(): void {
  try {
    // /proc/thread-self → "<pid>/task/<tid>"; setpriority on a tid affects that thread only.
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, WORKER_NICENESS);
  } catch {
    // Not Linux, or not allowed: the worker runs at the process's priority.
  }
}

/** Reads from the main thread, by message. */
class HostClient implements TrieNodeReader, BlockHashLookup {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (v: Uint8Array | undefined) => void; reject: (e: Error) => void }
  >();

  constructor(private readonly port: MessagePort) {}

  getNode(key: string): Promise<Uint8Array | undefined> {
    return this.read({ kind: "node", key });
  }

  getBlockHash(number: bigint): Promise<Uint8Array | undefined> {
    return this.read({ kind: "blockHash", number });
  }

  onReply(m: Extract<ToWorker, { t: "reply" | "replyError" }>): void {
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    if (m.t === "reply") w.resolve(m.value);
    else w.reject(new Error(`state read failed: ${m.message}`));
  }

  private read(read: HostRead): Promise<Uint8Array | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.port.postMessage({ t: "read", id, read } satisfies FromWorker);
    });
  }
}

/**
 * The worker's one VM, moved to the root each job asks for. Building a VM costs tens of ms, and the
 * head's root changes every block, so one VM is re-pointed instead of one being built per root
 * (its account/storage caches are cleared on a move; the trie-node cache below stays). Jobs run
 * one at a time, so nothing else touches it meanwhile.
 */
class WorkerView implements SimulationView, BlockHashLookup {
  private root: Uint8Array = KECCAK256_RLP;
  private vm: VM | undefined;
  /** Hashes of the blocks the running job simulates (eth_simulateV1), looked up before the chain's. */
  private simulatedHashes: ReadonlyMap<bigint, Uint8Array> | undefined;

  constructor(
    private readonly stateManager: MerkleStateManager,
    private readonly chainHashes: BlockHashLookup,
    private readonly reads: CallReadRecorder,
  ) {}

  async init(common: Common): Promise<this> {
    this.vm = await createAzoraVM(common, this.stateManager, this);
    return this;
  }

  getBlockHash(number: bigint): Promise<Uint8Array | undefined> {
    this.reads.blockContextRead();
    const simulated = this.simulatedHashes?.get(number);
    return simulated !== undefined ? Promise.resolve(simulated) : this.chainHashes.getBlockHash(number);
  }

  async at(stateRoot: Uint8Array): Promise<this> {
    if (!equalsBytes(stateRoot, this.root)) {
      await this.stateManager.setStateRoot(stateRoot);
      this.root = stateRoot;
    }
    return this;
  }

  async simulate<T>(fn: (vm: VM) => Promise<T>, opts: SimulateOptions = {}): Promise<T> {
    await this.stateManager.checkpoint();
    this.simulatedHashes = opts.blockHashes;
    try {
      return await fn(this.vm as VM);
    } finally {
      this.simulatedHashes = undefined;
      await this.stateManager.revert();
      if (opts.computesStateRoots === true) this.stateManager.clearCaches();
    }
  }
}

/** Runs a few calls on the empty state before the first job, so its budget is not spent warming the EVM up. */
async function warmUp(view: WorkerView): Promise<void> {
  const caller = new Address(new Uint8Array(20));
  await view.simulate(async (vm) => {
    for (let i = 1; i <= 9; i++) {
      const to = new Address(Uint8Array.from({ length: 20 }, (_, j) => (j === 19 ? i : 0)));
      await vm.evm.runCall({ caller, to, data: new Uint8Array(64), gasLimit: 1_000_000n, skipBalance: true });
    }
  });
}

function toWireError(e: unknown): WireError {
  if (e instanceof ExecutionRevertedError) return { kind: "reverted", data: e.type.data };
  if (e instanceof LimitExceededError) return { kind: "limit", message: e.message };
  if (e instanceof SimulationError) return { kind: "simulation", code: e.type.simulationCode, message: e.message };
  if (isRPCError(e)) return { kind: "server", message: e.message };
  return { kind: "internal", message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

lowerPriority();
nameThisThread(THREAD_NAMES.simulation);
const common = createChainCommon(data.chainId);
const host = new HostClient(port);
const store = new TrieNodeStore(host, { cacheBytes: data.nodeCacheBytes });
let env: JobEnv | undefined;

// Listening first: even the warm-up may read through the main thread. The pool sends jobs only
// after "ready", so `env` is set whenever one arrives.
port.on("message", (m: ToWorker) => {
  if (m.t !== "job") {
    host.onReply(m);
    return;
  }
  runJob(m.job, env as JobEnv)
    .then(
      (value) => port.postMessage({ t: "done", id: m.id, value } satisfies FromWorker),
      (e: unknown) => port.postMessage({ t: "failed", id: m.id, error: toWireError(e) } satisfies FromWorker),
    )
    .finally(() => {
      // Simulations always revert, so nothing should be written; whatever was (content-addressed
      // nodes, correct for their hash) moves to the bounded cache instead of piling up.
      if (store.pendingCount > 0) store.confirmWritten(store.takeWrites());
    });
});

const stateManager = openWorldState(common, store, KECCAK256_RLP, READER_STATE_OPTIONS);
const reads = new CallReadRecorder(stateManager);
const view = await new WorkerView(stateManager, host, reads).init(common);
await warmUp(view);
env = { common, gasCap: data.gasCap, view: (stateRoot) => view.at(stateRoot), reads };
port.postMessage({ t: "ready" } satisfies FromWorker);
const reportHeap = () => {
  const h = getHeapStatistics();
  port.postMessage({ t: "heap", used: h.used_heap_size, total: h.total_heap_size } satisfies FromWorker);
};
reportHeap();
setInterval(reportHeap, WORKER_HEAP_REPORT_MS).unref();
