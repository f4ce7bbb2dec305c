import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PaymentSession } from "../../../services/client/payments.js";
import { PaymentError } from "../../../services/runtime/payments/meteredPayee.js";
import { CHAIN, PRICE, payeeAt, payeeWallet, payerWallet, standInMarket } from "./payeeFixture.js";

// When a paid call's receipt is journaled (meteredCall.ts): one loop turn into its run (beside the model), before its
// answer is written. The rule kept: a worker killed (kill -9) after a call's answer left never forgets its receipt (a
// restarted worker refuses it as used); one killed while the model runs has charged it too — a crash between the
// commit and the answer costs the payer that one call, never more (the receipt is spent, no other is taken). The
// route runs in a child process (the built dist) with a real payee and a stand-in handler, driven by fastify's
// inject; the child blocks its event loop before the kill (its receipts' SQLite flush may have run by then or not:
// the receipt log's part is receiptLog.test.ts's).

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "azora-commit-order-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const url = (p: string) => JSON.stringify(pathToFileURL(join(process.cwd(), p)).href);
/** Input byte 0xcc: the stand-in model blocks forever once its run has started (its `running` line out). */
const HANG = 0xcc;

/** Runs one paid call in a child, SIGKILLs it at `running` or at the answer, and returns what it printed. */
async function callThenKill(dbPath: string, receipt: string, first: number): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import Fastify from "fastify";
       import { Wallet } from "ethers";
       import { MeteredPayee } from ${url("dist/services/runtime/payments/meteredPayee.js")};
       import { registerMeteredRoutes } from ${url("dist/services/runtime/payments/meteredRoutes.js")};
       const block = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
       const market = { deposits: async () => [10n ** 21n, 0n, 0n, 0n] };
       const payee = new MeteredPayee({ wallet: new Wallet(${JSON.stringify(payeeWallet.privateKey)}), market,
         chainId: ${CHAIN}n, dbPath: ${JSON.stringify(dbPath)} });
       const handler = { kinds: ["ai/onnx"], engine: "stand-in", agrees: () => true,
         run: async (job) => {
           // a few loop turns into the run, as a model's (a route that journals before the run has done so by now)
           await new Promise((r) => setTimeout(r, 20));
           if (job.input[0] === ${HANG}) { process.stdout.write("running\\n"); block(); }
           return { bytes: Uint8Array.from(job.input), contentType: "application/octet-stream" };
         } };
       const f = Fastify();
       await registerMeteredRoutes(f, { payee, handler, priceOf: () => ${PRICE}n });
       const res = await f.inject({ method: "POST", url: "/v1/infer/0x" + "bb".repeat(32),
         headers: { "content-type": "application/octet-stream", accept: "application/octet-stream",
           "x-azora-receipt": ${JSON.stringify(receipt)} }, payload: Buffer.from([${first}, 1, 2]) });
       process.stdout.write("answered " + res.statusCode + "\\n");
       block();`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const said = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.endsWith("\n")) resolve(out.trim());
    });
    child.once("exit", (code) => reject(new Error(`child exited ${code}: ${out}`)));
  });
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  return said;
}

/** What a restarted worker's payee says of the receipt: "accepted" (not charged) or its refusal. */
async function afterRestart(dbPath: string, receipt: string): Promise<string> {
  const payee = payeeAt(
    dbPath,
    standInMarket(async () => 10n ** 21n),
  );
  try {
    const h = await payee.hold(receipt, PRICE);
    h.release();
    return "accepted";
  } catch (e) {
    if (e instanceof PaymentError) return e.message;
    throw e;
  } finally {
    await payee.close();
  }
}

describe("a paid call's receipt against kill -9", () => {
  it("killed after the answer: the receipt stays used; killed while the model runs: that call's receipt is spent", async () => {
    const pay = new PaymentSession(payerWallet, CHAIN, payeeWallet.address);
    const answered = join(dir, "answered.sqlite");
    const r1 = await pay.receipt(PRICE);
    expect(await callThenKill(answered, r1, 1)).toBe("answered 200");
    expect(await afterRestart(answered, r1)).toMatch(/already used/);

    const running = join(dir, "running.sqlite");
    const r2 = await pay.receipt(PRICE);
    expect(await callThenKill(running, r2, HANG)).toBe("running");
    expect(await afterRestart(running, r2)).toMatch(/already used/);
    const r3 = await pay.receipt(PRICE); // the payer's next receipt: the crash took nothing else
    expect(await afterRestart(running, r3)).toBe("accepted");
  }, 60_000);
});
