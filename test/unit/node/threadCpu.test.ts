import { readdirSync, readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import {
  groupThreads,
  parseStat,
  poolSizes,
  THREAD_GROUPS,
  type ThreadSnapshot,
  threadCpuDelta,
  threadSnapshot,
} from "../../../bench/threadCpu.js";
import { MAX_THREAD_NAME_BYTES, nameThisThread, THREAD_NAMES } from "../../../node/threadName.js";
import { result, startInProcessNode } from "../rpc/eth/helpers.js";

const onLinux = process.platform === "linux";

/** The names of this process's threads. */
function threadNames(): string[] {
  return readdirSync("/proc/self/task").map((t) => readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim());
}

describe("thread names", () => {
  it.runIf(onLinux)("a worker's name shows in /proc, cut to Linux's 15 bytes", async () => {
    const url = new URL("../../../node/threadName.ts", import.meta.url).href;
    const tsx = import.meta.resolve("tsx/esm/api");
    const w = new Worker(
      `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })
         .then((m) => { require("node:worker_threads").parentPort.postMessage(m.nameThisThread("azora-test-thread-long")); });`,
      { eval: true },
    );
    try {
      const ok = await new Promise((resolve, reject) => {
        w.once("message", resolve);
        w.once("error", reject);
      });
      expect(ok).toBe(true);
      expect(threadNames()).toContain("azora-test-thread-long".slice(0, MAX_THREAD_NAME_BYTES));
    } finally {
      await w.terminate();
    }
  });

  it.runIf(onLinux)("the eth_call simulation worker's thread is named", async () => {
    const node = await startInProcessNode({ rpc: { evmWorkers: 1 } });
    try {
      // The worker names itself at start; its first answer means it has started.
      await result(node.url, "eth_call", [{ to: "0x0000000000000000000000000000000000000A01", data: "0x18160ddd" }]);
      expect(threadNames()).toContain(THREAD_NAMES.simulation);
    } finally {
      await node.cleanup();
    }
  });

  it("is false, not a throw, where /proc cannot be written", () => {
    if (!onLinux) expect(nameThisThread("x")).toBe(false);
    else expect(typeof nameThisThread(readFileSync("/proc/thread-self/comm", "utf8").trim())).toBe("boolean");
  });
});

describe("groupThreads", () => {
  const pid = 100;
  const t = (tid: number, name = "node") => ({ tid, name, sec: 0 });

  it("groups the runtime's unnamed threads by start order and named ones by name", () => {
    // main; delayed-task scheduler + 2 V8 workers; SIGUSR1 watcher; 3 libuv; later: a named worker pool, LevelDB.
    const threads = [
      t(100),
      t(103),
      t(101),
      t(102),
      t(104),
      t(110),
      t(111),
      t(112),
      t(120, "azora-decode"),
      t(121, "azora-decode-1"),
      t(130),
    ];
    const g = groupThreads(pid, threads, { v8: 2, uv: 3 });
    expect(Object.fromEntries(g)).toEqual({
      100: THREAD_GROUPS.main,
      101: THREAD_GROUPS.v8,
      102: THREAD_GROUPS.v8,
      103: THREAD_GROUPS.v8,
      104: THREAD_GROUPS.other,
      110: THREAD_GROUPS.libuv,
      111: THREAD_GROUPS.libuv,
      112: THREAD_GROUPS.libuv,
      120: "azora-decode",
      121: "azora-decode",
      130: THREAD_GROUPS.other,
    });
  });

  it.runIf(onLinux)("finds this process's main thread, V8 pool and libuv pool", () => {
    const snap = threadSnapshot(process.pid, poolSizes(process.pid));
    expect(snap).not.toBeNull();
    const groups = [...(snap?.threads.values() ?? [])].map((x) => x.group);
    expect(groups.filter((g) => g === THREAD_GROUPS.main)).toHaveLength(1);
    expect(groups).toContain(THREAD_GROUPS.v8);
  });
});

describe("parseStat", () => {
  it("reads the name and utime + stime, whatever the name holds", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 12 0";
    expect(parseStat(line)).toEqual({ name: "a) b (c)", sec: 3.25 });
  });
});

describe("threadCpuDelta", () => {
  const snap = (processSec: number, threads: Array<[number, string, number]>): ThreadSnapshot => ({
    processSec,
    threads: new Map(threads.map(([tid, group, sec]) => [tid, { group, sec }])),
  });

  it("sums by group, counts a new thread from zero and an ended one's time as exited", () => {
    const before = snap(10, [
      [1, "main", 6],
      [2, "v8", 1],
      [3, "v8", 1],
      [4, "gone", 2],
    ]);
    const after = snap(20, [
      [1, "main", 12],
      [2, "v8", 2],
      [3, "v8", 1.5],
      [5, "new", 0.5],
    ]);
    // Process +10 s; live threads +6 +1 +0.5 +0.5 = 8; the rest ran on thread 4 before it ended.
    expect(threadCpuDelta(before, after)).toEqual({ main: 6, v8: 1.5, new: 0.5, [THREAD_GROUPS.exited]: 2 });
  });
});
