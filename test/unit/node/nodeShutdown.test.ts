import { describe, expect, it } from "vitest";
import { installNodeShutdown, type ShutdownPorts } from "../../../node/nodeShutdown.js";
import { nullLogger } from "../../../runtime/lib/logger.js";

/** A process stand-in: signals raised by hand, deadlines fired by hand, exits and log lines recorded. */
function harness(close: () => Promise<void>, afterClose?: () => Promise<void>) {
  const handlers = new Map<string, () => void>();
  const deadlines: { ms: number; fire: () => void }[] = [];
  const exits: number[] = [];
  const lines: string[] = [];
  let flushed = 0;
  let stderr = "";
  const ports: ShutdownPorts = {
    onSignal: (signal, handler) => void handlers.set(signal, handler),
    after: (ms) => new Promise<void>((fire) => deadlines.push({ ms, fire })),
    exit: (code) => void exits.push(code),
    stderr: (text) => {
      stderr += text;
    },
  };
  const log = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  const logger = { ...nullLogger, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const fatal = installNodeShutdown({
    close,
    afterClose,
    height: () => "7",
    logger,
    flush: () => void flushed++,
    ports,
    signalDeadlineMs: 500,
    fatalDeadlineMs: 100,
  });
  return {
    fatal,
    signal: (s: "SIGINT" | "SIGTERM") => handlers.get(s)?.(),
    deadlines,
    exits,
    lines,
    flushed: () => flushed,
    stderr: () => stderr,
  };
}

const settle = () => new Promise((r) => setImmediate(r));

/** A close that finishes when the test says so. */
function pendingClose() {
  let done = () => {};
  let calls = 0;
  const close = () => {
    calls++;
    return new Promise<void>((res) => (done = res));
  };
  return { close, finish: () => done(), calls: () => calls };
}

describe("node shutdown", () => {
  it("closes, runs the after-close step and exits 0 on a signal", async () => {
    let profiled = false;
    const h = harness(
      async () => {},
      async () => {
        profiled = true;
      },
    );
    h.signal("SIGTERM");
    await settle();
    expect(h.exits).toEqual([0]);
    expect(profiled).toBe(true);
    expect(h.lines).toEqual(["info shutting down", "info stopped cleanly"]);
    expect(h.flushed()).toBe(1);
  });

  it("exits 1 when the close outlives its deadline", async () => {
    const c = pendingClose();
    const h = harness(c.close);
    h.signal("SIGINT");
    await settle();
    expect(h.exits).toEqual([]);
    expect(h.deadlines.map((d) => d.ms)).toEqual([500]);
    h.deadlines[0].fire();
    await settle();
    expect(h.exits).toEqual([1]);
    expect(h.lines).toContain("error shutdown failed");
  });

  it("exits at once on a second signal during the close, and only once", async () => {
    const c = pendingClose();
    const h = harness(c.close);
    h.signal("SIGTERM");
    await settle();
    h.signal("SIGINT");
    expect(h.exits).toEqual([1]);
    expect(h.lines).toContain("warn second signal during shutdown: exiting without waiting for the close");
    expect(c.calls()).toBe(1);
  });

  it("a fatal failure closes within the shorter deadline, exits 1 and says why on stderr", async () => {
    const c = pendingClose();
    const h = harness(c.close);
    h.fatal(new Error("disk gone"));
    await settle();
    expect(h.deadlines.map((d) => d.ms)).toEqual([100]);
    c.finish();
    await settle();
    expect(h.exits).toEqual([1]);
    expect(h.stderr()).toBe("azora: stopped: disk gone\n");
    expect(h.lines).toEqual(["error stopping after a fatal failure", "info stopped"]);
  });

  it("ignores a fatal failure during a signal's close; an after-close failure makes the exit 1", async () => {
    const c = pendingClose();
    const h = harness(c.close, async () => {
      throw new Error("profile not written");
    });
    h.signal("SIGTERM");
    await settle();
    h.fatal(new Error("late"));
    c.finish();
    await settle();
    expect(h.exits).toEqual([1]);
    expect(c.calls()).toBe(1);
    expect(h.stderr()).toBe("");
  });
});
