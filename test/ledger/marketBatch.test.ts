import { type HDNodeWallet, parseEther, type Wallet, ZeroAddress } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  as,
  DEVNET,
  escrowOf,
  type Fixture,
  JobStatus,
  LEARN,
  MARKET,
  marketEvents,
  marketHelpers,
  mined,
  OTHER_KIND,
  revertOf,
  S,
  SlotStatus,
  spec,
  startMarketFixture,
  stopMarketFixture,
  V,
  W,
} from "./marketFixture.js";

/**
 * The market's batch calls (0x…0A05): postMany (all or nothing, exact payment), claimMany / submitMany /
 * acceptMany (best-effort: an item its single function would refuse is undone — state, events, bond — and
 * reported with BatchItemSkipped and its custom error), their bounds (1..64 items, equal array lengths), and the
 * same accounting as the single calls. Random sequences mixing them with everything else: marketProperty.test.ts.
 */

let f: Fixture;
let h: ReturnType<typeof marketHelpers>;
let requester: Wallet;
let w1: Wallet;
let w2: Wallet;
let other: HDNodeWallet;

beforeAll(async () => {
  f = await startMarketFixture(1);
  h = marketHelpers(f);
  [, requester, w1, w2] = f.dev;
  [other] = f.more;
  for (const w of [w1, w2]) await h.register(w, { stake: parseEther("50") });
  await h.register(other, { kinds: [OTHER_KIND] });
});

afterAll(() => stopMarketFixture(f));

const hashOf = (i: number) => `0x${i.toString(16).padStart(2, "0").repeat(32)}`;
const credit = (who: string, token = ZeroAddress) => f.market.withdrawable(who, token) as Promise<bigint>;

/** Posts `n` AZR jobs in one postMany; their ids. */
async function postMany(n: number, overrides = {}): Promise<bigint[]> {
  const specs = Array.from({ length: n }, () => spec(overrides));
  const value = specs.reduce((a, s) => a + escrowOf(s), 0n);
  const r = await h.ok(as(f.market, requester).postMany(specs, { value }));
  return marketEvents(r).JobPosted.map((e) => e[0] as bigint);
}

/** The skipped items of a receipt: [id, caller, decoded error name]. */
function skipped(r: import("ethers").TransactionReceipt): [bigint, string, string][] {
  return (marketEvents(r).BatchItemSkipped ?? []).map(([id, caller, reason]) => [
    id as bigint,
    caller as string,
    f.market.interface.parseError(reason as string)?.name ?? "?",
  ]);
}

describe("postMany", () => {
  it("posts every spec with consecutive ids, AZR paid as the exact sum of the escrows", async () => {
    const before = await f.provider.getBalance(MARKET);
    const count = (await f.market.jobCount()) as bigint;
    const specs = [spec(), spec({ price: parseEther("2"), redundancy: 2n }), spec({ specURI: "ipfs://third" })];
    const value = specs.reduce((a, s) => a + escrowOf(s), 0n);
    const r = await h.ok(as(f.market, requester).postMany(specs, { value }));
    const posted = marketEvents(r).JobPosted;
    expect(posted.map((e) => e[0])).toEqual([count + 1n, count + 2n, count + 3n]);
    expect(posted.map((e) => e[6])).toEqual(specs.map(escrowOf));
    expect(await f.provider.getBalance(MARKET)).toBe(before + value);
    expect((await h.job(count + 2n))[V.status]).toBe(JobStatus.Open);
  });

  it("mixes AZR and LEARN jobs: value pays the AZR ones, the allowance the LEARN ones", async () => {
    const learnSpec = spec({ token: LEARN });
    const azrSpec = spec();
    await h.ok(as(f.learn, requester).approve(MARKET, escrowOf(learnSpec)));
    const learnBefore = (await f.learn.balanceOf(MARKET)) as bigint;
    const r = await h.ok(as(f.market, requester).postMany([learnSpec, azrSpec], { value: escrowOf(azrSpec) }));
    expect(marketEvents(r).JobPosted).toHaveLength(2);
    expect(await f.learn.balanceOf(MARKET)).toBe(learnBefore + escrowOf(learnSpec));
  });

  it("refuses a wrong total, an empty or oversized batch, and any bad spec — posting none of them", async () => {
    const specs = [spec(), spec()];
    const total = escrowOf(specs[0]) * 2n;
    for (const value of [total - 1n, total + 1n]) {
      await h.expectRefused(requester, "postMany", [specs], ["JobInvalidPayment", [total, value]], { value });
    }
    await h.expectRefused(requester, "postMany", [[]], ["JobBatchSize", [0n, 64n]]);
    const many = Array.from({ length: 65 }, () => spec({ specURI: "x" }));
    await h.expectRefused(requester, "postMany", [many], ["JobBatchSize", [65n, 64n]], {
      value: escrowOf(many[0]) * 65n,
    });
    const bad = [spec(), spec({ price: 0n })];
    await h.expectRefused(requester, "postMany", [bad], ["JobInvalidSpec", ["price"]], { value: escrowOf(bad[0]) });
  });
});

describe("claimMany", () => {
  it("claims every job it may; a lost or refused item is skipped with its error and leaves no trace", async () => {
    const ids = await postMany(3);
    // w2 takes the middle job first: w1's claim of it is a lost race
    await h.ok(as(f.market, w2).claim(ids[1]));
    const before = await h.worker(w1.address);
    const unknown = 9_999n;
    const r = await h.ok(as(f.market, w1).claimMany([ids[0], ids[1], unknown, ids[2], ids[0]]));
    expect(
      await as(f.market, w1)
        .claimMany.staticCall([ids[0]])
        .catch(() => "refused"),
      "a claimed job is skipped, not refused",
    ).toEqual([false]);
    const ev = marketEvents(r);
    expect(ev.JobClaimed.map((e) => [e[0], e[1]])).toEqual([
      [ids[0], w1.address],
      [ids[2], w1.address],
    ]);
    expect(skipped(r)).toEqual([
      [ids[1], w1.address, "JobInvalidState"],
      [unknown, w1.address, "JobNotFound"],
      [ids[0], w1.address, "JobInvalidState"],
    ]);
    // exactly two bonds locked; the middle job still belongs to w2
    const after = await h.worker(w1.address);
    const bond = ev.JobClaimed[0][3] as bigint;
    expect(after[W.locked]).toBe((before[W.locked] as bigint) + 2n * bond);
    expect((await h.job(ids[1]))[V.slots][0][S.worker]).toBe(w2.address);
    expect((await h.job(ids[0]))[V.status]).toBe(JobStatus.Claimed);
  });

  it("returns done[i] per item; refuses empty and oversized batches; a worker of another kind claims nothing", async () => {
    const ids = await postMany(2);
    expect(await as(f.market, w1).claimMany.staticCall([ids[0], 123_456n, ids[1]])).toEqual([true, false, true]);
    await h.expectRefused(w1, "claimMany", [[]], ["JobBatchSize", [0n, 64n]]);
    await h.expectRefused(
      w1,
      "claimMany",
      [Array.from({ length: 65 }, (_, i) => BigInt(i + 1))],
      ["JobBatchSize", [65n, 64n]],
    );
    // a worker of another kind: every item skipped with its error, nothing locked
    const r = await h.ok(as(f.market, other).claimMany(ids));
    expect(skipped(r).map((s) => s[2])).toEqual(["WorkerKindMismatch", "WorkerKindMismatch"]);
    expect((await h.worker(other.address))[W.locked]).toBe(0n);
  });

  it("is not payable", async () => {
    const ids = await postMany(1);
    expect(await revertOf(as(f.market, w1).claimMany.staticCall(ids, { value: 1n }))).toEqual([
      "Error",
      ["Market: claimMany is not payable"],
    ]);
  });
});

describe("submitMany and acceptMany", () => {
  it("a whole batch lifecycle settles exactly as single calls would: payment, bond back, reward, fee", async () => {
    const ids = await postMany(4);
    await h.ok(as(f.market, w1).claimMany(ids));
    const uris = ids.map((id) => `ipfs://result-${id}`);
    const hashes = ids.map((_, i) => hashOf(i + 1));
    const bond = marketEvents(await h.ok(as(f.market, w1).claim((await postMany(1))[0]))).JobClaimed[0][3] as bigint;
    const sr = await h.ok(as(f.market, w1).submitMany(ids, hashes, uris));
    expect(marketEvents(sr).ResultSubmitted.map((e) => [e[0], e[3], e[4]])).toEqual(
      ids.map((id, i) => [id, hashes[i], uris[i]]),
    );
    for (const id of ids) expect((await h.job(id))[V.slots][0][S.status]).toBe(SlotStatus.Revealed);

    const creditBefore = await credit(w1.address);
    const learnBefore = (await f.learn.balanceOf(w1.address)) as bigint;
    const lockedBefore = (await h.worker(w1.address))[W.locked] as bigint;
    const feeBefore = await credit(DEVNET.feeRecipient);
    const unknown = 8_888n;
    const ar = await h.ok(as(f.market, requester).acceptMany([...ids, unknown]));
    const ev = marketEvents(ar);
    expect(ev.JobAccepted.map((e) => e[0])).toEqual(ids);
    expect(skipped(ar)).toEqual([[unknown, requester.address, "JobNotFound"]]);
    const price = spec().price;
    expect(await credit(w1.address)).toBe(creditBefore + 4n * price);
    expect(await f.learn.balanceOf(w1.address)).toBe(learnBefore + 4n * DEVNET.learnRewardPerJob);
    expect(await credit(DEVNET.feeRecipient)).toBe(feeBefore + 4n * ((price * DEVNET.feeBps) / 10_000n));
    expect((await h.worker(w1.address))[W.locked]).toBe(lockedBefore - 4n * bond);
    for (const id of ids) expect((await h.job(id))[V.status]).toBe(JobStatus.Finalized);
  });

  it("submitMany skips what submit refuses (not the claimer, twice, redundancy > 1) and checks array lengths", async () => {
    const [a] = await postMany(1);
    const [two] = await postMany(1, { redundancy: 2n });
    await h.ok(as(f.market, w1).claimMany([a, two]));
    const r = await h.ok(as(f.market, w2).submitMany([a], [hashOf(9)], ["ipfs://x"]));
    expect(skipped(r)).toEqual([[a, w2.address, "JobUnauthorized"]]);
    const r2 = await h.ok(as(f.market, w1).submitMany([a, a, two], [hashOf(1), hashOf(2), hashOf(3)], ["", "", ""]));
    expect(skipped(r2).map((s) => [s[0], s[2]])).toEqual([
      [a, "JobInvalidState"],
      [two, "JobCommitRequired"],
    ]);
    expect((await h.job(a))[V.slots][0][S.resultHash]).toBe(hashOf(1));
    await h.expectRefused(w1, "submitMany", [[a], [hashOf(1), hashOf(2)], [""]], ["JobBatchSize", [2n, 1n]]);
    await h.expectRefused(w1, "submitMany", [[a], [hashOf(1)], []], ["JobBatchSize", [0n, 1n]]);
  });

  it("acceptMany by someone else than the requester accepts nothing", async () => {
    const ids = await postMany(2);
    await h.ok(as(f.market, w1).claimMany(ids));
    await h.ok(as(f.market, w1).submitMany(ids, [hashOf(1), hashOf(2)], ["", ""]));
    const r = await h.ok(as(f.market, w2).acceptMany(ids));
    expect(skipped(r).map((s) => s[2])).toEqual(["JobUnauthorized", "JobUnauthorized"]);
    for (const id of ids) expect((await h.job(id))[V.status]).toBe(JobStatus.Submitted);
  });
});

describe("batch gas", () => {
  it("each item pays its single function's base before its work; out of gas aborts the whole batch", async () => {
    const ids = await postMany(3);
    const single = await h.moduleGas(await h.ok(as(f.market, w1).claim(ids[0])));
    const batch = await h.moduleGas(await h.ok(as(f.market, w2).claimMany([ids[1], ids[2]])));
    // two claims in one call cost about two single claims (plus the batch's own base and array decoding)
    expect(batch).toBeGreaterThan(2n * single - 10_000n);
    expect(batch).toBeLessThan(2n * single + 10_000n);
    // a limit that covers one item but not two: the whole call fails and nothing is claimed
    const more = await postMany(2);
    const r = await mined(f.provider, as(f.market, w1).claimMany(more, { gasLimit: 21_000n + single + 20_000n }));
    expect(r.status).toBe(0);
    for (const id of more) expect((await h.job(id))[V.status]).toBe(JobStatus.Open);
  });
});

describe("jobs(ids) view", () => {
  it("reads job(id) for each id in one call (unknown ids as the zero view), at most 64", async () => {
    const ids = await postMany(2);
    await h.ok(as(f.market, w1).claim(ids[1]));
    const all = ((await f.market.jobs([ids[0], ids[1], 77_777n])) as unknown[]).map((v) =>
      JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x)),
    );
    const one = await Promise.all(
      [ids[0], ids[1], 77_777n].map(async (id) =>
        JSON.stringify(await f.market.job(id), (_, x) => (typeof x === "bigint" ? x.toString() : x)),
      ),
    );
    expect(all).toEqual(one);
    expect(await revertOf(f.market.jobs(Array.from({ length: 65 }, (_, i) => BigInt(i + 1))))).toEqual([
      "JobBatchSize",
      [65n, 64n],
    ]);
  });
});
