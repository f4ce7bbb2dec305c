import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { Journal } from "../../../services/runtime/journal.js";
import { tempDir } from "../../utils/devnode.js";

describe("job journal", () => {
  it("keeps jobs, transactions and the scan position across a reopen", () => {
    const file = join(tempDir("journal"), "jobs.sqlite");
    let t = 1000;
    const j = new Journal(file, () => t++);
    expect(j.addJob({ id: 7n, role: "work", kind: "test/sha256", state: "candidate", price: 5n, foundBlock: 3 })).toBe(
      true,
    );
    expect(j.addJob({ id: 7n, role: "work", kind: "test/sha256", state: "claimed", foundBlock: 4 })).toBe(false);
    expect(j.addJob({ id: 7n, role: "verify", kind: "", state: "assigned", foundBlock: 9 })).toBe(true);
    j.updateJob(7n, "work", { state: "computed", resultHash: "0xaa", resultCID: "bafk", salt: "0x01", runs: 1 });
    const tx = j.addTx({
      jobId: 7n,
      role: "work",
      action: "claim",
      nonce: 4,
      hash: "0xh1",
      raw: "0xraw1",
      to: "0xm",
      data: "0xd",
      value: 0n,
      gasLimit: 100000n,
      maxFee: 10n,
      tip: 1n,
    });
    j.addAttempt(tx.seq, { hash: "0xh2", raw: "0xraw2", maxFee: 12n, tip: 2n });
    j.setMeta("scannedBlock", "41");
    j.addWithdrawn("0x0", 5n);
    j.addWithdrawn("0x0", 6n);
    j.close();

    const k = new Journal(file);
    const w = k.getJob(7n, "work");
    expect(w).toMatchObject({
      state: "computed",
      resultHash: "0xaa",
      resultCID: "bafk",
      salt: "0x01",
      runs: 1,
      price: 5n,
    });
    expect(k.openJobs().map((r) => r.role)).toEqual(["work", "verify"]);
    expect(k.countWork(["computed"])).toBe(1);
    expect(k.countWork(["claimed", "claiming"])).toBe(0);
    const [p] = k.pendingTxs();
    expect(p).toMatchObject({
      action: "claim",
      nonce: 4,
      hashes: ["0xh1", "0xh2"],
      raw: "0xraw2",
      maxFee: 12n,
      tip: 2n,
    });
    expect(k.lastTx(7n, "work", "claim")?.seq).toBe(tx.seq);
    expect(k.maxNonce()).toBe(4);
    k.settleTx(tx.seq, { state: "mined", minedHash: "0xh2", block: 12, gasUsed: 50000n });
    expect(k.pendingTxs()).toEqual([]);
    expect(k.getMeta("scannedBlock")).toBe("41");
    expect(k.withdrawn().get("0x0")).toBe(11n);
    k.updateJob(7n, "work", { state: "done", outcome: "paid" });
    expect(k.openJobs("work")).toEqual([]);
    expect(k.countByState()).toContainEqual({ role: "work", state: "done", outcome: "paid", n: 1 });
    k.close();
  });

  it("a transaction is atomic", () => {
    const j = new Journal(":memory:");
    expect(() =>
      j.transaction(() => {
        j.setMeta("scannedBlock", "10");
        j.addJob({ id: 1n, role: "work", kind: "k", state: "candidate", foundBlock: 10 });
        throw new Error("crash mid-scan");
      }),
    ).toThrowError(/crash/);
    expect(j.getMeta("scannedBlock")).toBeUndefined();
    expect(j.openJobs()).toEqual([]);
    j.close();
  });

  it("a commit survives kill -9 of the process right after it returns (synchronous=NORMAL in WAL mode)", async () => {
    const file = join(tempDir("journal-kill"), "jobs.sqlite");
    // A child commits jobs one by one (each its own transaction), says so after each, and never closes the
    // database: SIGKILL lands with the newest commit only in the WAL, not checkpointed, not fsync'd.
    const journalURL = pathToFileURL(join(process.cwd(), "dist/services/runtime/journal.js")).href;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { Journal } from ${JSON.stringify(journalURL)};
         const j = new Journal(${JSON.stringify(file)});
         for (let i = 1; i <= 50; i++) {
           j.addJob({ id: BigInt(i), role: "work", kind: "k", state: "candidate", foundBlock: i });
           j.updateJob(BigInt(i), "work", { state: "claiming" });
           process.stdout.write(i + "\\n");
         }
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const acked = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("50\n")) resolve(50);
      });
      child.once("exit", (code) => reject(new Error(`child exited ${code} before committing: ${out}`)));
    });
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    const j = new Journal(file);
    expect(j.openJobs("work").length).toBe(acked);
    expect(j.countWork(["claiming"])).toBe(acked);
    j.close();
  });
});
