import { type Logger as Pino, pino } from "pino";
import type { Logger } from "../runtime/lib/logger.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

function wrap(p: Pino): Logger {
  const withErr = (ctx: Record<string, unknown> | undefined, err: unknown) =>
    err === undefined ? (ctx ?? {}) : { ...(ctx ?? {}), err };
  return {
    debug: (msg, ctx) => p.debug(ctx ?? {}, msg),
    info: (msg, ctx) => p.info(ctx ?? {}, msg),
    warn: (msg, ctx, err) => p.warn(withErr(ctx, err), msg),
    error: (msg, ctx, err) => p.error(withErr(ctx, err), msg),
    child: (bindings) => wrap(p.child(bindings)),
  };
}

/**
 * pino JSON logs on stdout; human-readable (pino-pretty) when stdout is a terminal, unless
 * `format` forces one or the other. bigint values are logged as decimal strings.
 */
export function createLogger(opts: { level: LogLevel; format?: "json" | "pretty" }): {
  logger: Logger;
  flush: () => void;
} {
  const pretty = (opts.format ?? (process.stdout.isTTY ? "pretty" : "json")) === "pretty";
  const p = pino({
    level: opts.level,
    base: undefined,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        if (first !== null && typeof first === "object") {
          for (const [k, v] of Object.entries(first))
            if (typeof v === "bigint") (first as Record<string, unknown>)[k] = v.toString();
        }
        method.apply(this, [first, ...rest] as Parameters<typeof method>);
      },
    },
    transport: pretty
      ? { target: "pino-pretty", options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } }
      : undefined,
  });
  return { logger: wrap(p), flush: () => p.flush() };
}
