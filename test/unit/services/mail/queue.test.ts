/** The outbound queue on real SQLite: idempotent enqueue, due order, retries and final outcomes, suppression. */
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { openMailQueue } from "../../../../services/mail/queue.js";
import { tempDir } from "../../../utils/devnode.js";

const file = () => join(tempDir("mail-queue"), "queue.sqlite");
const msg = (id: string, at: number) => ({
  messageId: id,
  envelopeFrom: "a@alpha.test",
  raw: Buffer.from("x"),
  createdAt: at,
});
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

it("stores a Message-ID once, hands out due recipients oldest first, and keeps outcomes across a reopen", () => {
  const f = file();
  let q = openMailQueue(f);
  expect(q.enqueue(msg("<m1@a>", 1000), ["x@b.test", "y@b.test"])).toBe(true);
  expect(q.enqueue(msg("<m1@a>", 2000), ["z@b.test"])).toBe(false);
  expect(q.enqueue(msg("<m2@a>", 1500), ["w@b.test"])).toBe(true);
  expect(q.due(1200, 10).map((r) => r.recipient)).toEqual(["x@b.test", "y@b.test"]);
  const [x, y] = q.recipients("<m1@a>");
  q.record({ ...x, status: "delivered", lastReply: "250 ok", mx: "mx", at: 1300, attempted: true });
  q.record({ ...y, status: "queued", nextAt: 61_300, lastReply: "451 later", mx: "mx", at: 1300, attempted: true });
  expect(q.nextDue()).toBe(1500);
  q.close();
  q = openMailQueue(f);
  closers.push(() => q.close());
  expect(q.recipients("<m1@a>")).toMatchObject([
    { recipient: "x@b.test", status: "delivered", attempts: 1, lastReply: "250 ok" },
    { recipient: "y@b.test", status: "queued", attempts: 1, nextAt: 61_300 },
  ]);
  expect(q.due(2000, 10).map((r) => r.recipient)).toEqual(["w@b.test"]);
  expect(q.counts()).toEqual({ queued: 2, delivered: 1, bounced: 0, failed: 0 });
  q.suppress({ address: "Y@B.test", reason: "5.1.1", at: 5 });
  expect(q.suppression("y@b.test")).toEqual({ address: "y@b.test", reason: "5.1.1", at: 5 });
  expect(q.suppression("x@b.test")).toBeUndefined();
});
