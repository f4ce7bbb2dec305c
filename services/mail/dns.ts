/**
 * The DNS port. Every lookup the mail server makes — SPF, DKIM keys, DMARC policies (through mailauth) and MX
 * hosts for outbound delivery — goes through one `DnsResolver`, so tests hand in a `staticResolver` with the records
 * they publish and no test touches real DNS.
 */
import { promises as dns } from "node:dns";

/** mailauth's resolver shape (`dns.promises.resolve`): TXT answers are string[][] (chunks), MX are objects. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown[]>;

export interface MxHost {
  exchange: string;
  priority: number;
}

export const systemResolver: DnsResolver = (name, rrtype) => dns.resolve(name, rrtype) as Promise<unknown[]>;

/** Records by type then name, e.g. `{ TXT: { "a.test": ["v=spf1 ip4:127.0.0.1 -all"] }, A: {…} }`. */
export type ZoneRecords = Partial<Record<"TXT" | "A" | "AAAA" | "MX", Record<string, unknown[]>>>;

function notFound(name: string, rrtype: string): Error {
  // The codes dns.promises uses: mailauth maps ENOTFOUND/ENODATA to "none", anything else to "temperror".
  return Object.assign(new Error(`queryTxt ENOTFOUND ${name} (${rrtype})`), { code: "ENOTFOUND", hostname: name });
}

/** An in-memory zone: TXT strings are split into one chunk each; unknown names answer ENOTFOUND. */
export function staticResolver(zone: ZoneRecords): DnsResolver {
  return async (name, rrtype) => {
    const byName = zone[rrtype.toUpperCase() as keyof ZoneRecords];
    const key = name.toLowerCase().replace(/\.$/, "");
    const answers = byName?.[key];
    if (answers === undefined || answers.length === 0) throw notFound(name, rrtype);
    return rrtype.toUpperCase() === "TXT" ? answers.map((a) => (Array.isArray(a) ? a : [String(a)])) : answers;
  };
}

/** MX hosts by preference; a domain without MX falls back to itself (RFC 5321 §5.1 implicit MX). */
export async function lookupMx(resolver: DnsResolver, domain: string): Promise<MxHost[]> {
  try {
    const mx = (await resolver(domain, "MX")) as MxHost[];
    if (mx.length > 0) return [...mx].sort((a, b) => a.priority - b.priority);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "ENOTFOUND" && code !== "ENODATA") throw e;
  }
  return [{ exchange: domain, priority: 0 }];
}
