/** Prometheus metrics of Azora Auth. Labels come from bounded sets (methods, error codes). */
import { Counter, type Registry } from "prom-client";

export function createAuthMetrics(register: Registry) {
  return {
    signIns: new Counter({
      name: "azora_auth_sign_ins_total",
      help: "Sign-in attempts by method (password, siwe, mfa, webauthn) and outcome (ok or an AUTH_* error code)",
      labelNames: ["method", "outcome"] as const,
      registers: [register],
    }),
    tokensIssued: new Counter({
      name: "azora_auth_tokens_issued_total",
      help: "Access/refresh token pairs issued (sign-ins and refreshes)",
      registers: [register],
    }),
    refreshReuse: new Counter({
      name: "azora_auth_refresh_reuse_total",
      help: "Refresh tokens presented twice (each revoked its family)",
      registers: [register],
    }),
    lockouts: new Counter({
      name: "azora_auth_lockouts_total",
      help: "Accounts locked after too many wrong passwords",
      registers: [register],
    }),
    mailsSent: new Counter({
      name: "azora_auth_mails_total",
      help: "Verification and reset mails by kind and outcome (sent, failed)",
      labelNames: ["kind", "outcome"] as const,
      registers: [register],
    }),
  };
}

export type AuthMetrics = ReturnType<typeof createAuthMetrics>;
