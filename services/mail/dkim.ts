/**
 * Per-domain DKIM keys and the DNS records an operator publishes for a domain. Keys are RSA-2048 (what every
 * verifier accepts; Ed25519 DKIM, RFC 8463, is still unsupported by large receivers), stored as PKCS#8 PEM at
 * `<dataDir>/dkim/<domain>.<selector>.pem` with mode 0600 and created on first use.
 */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface DkimKey {
  domain: string;
  selector: string;
  privateKeyPem: string;
  /** base64 SubjectPublicKeyInfo (the `p=` of the DKIM record). */
  publicKeyB64: string;
}

export function dkimKeyPath(dataDir: string, domain: string, selector: string): string {
  return join(dataDir, "dkim", `${domain}.${selector}.pem`);
}

export function loadOrCreateDkimKey(dataDir: string, domain: string, selector: string): DkimKey {
  const file = dkimKeyPath(dataDir, domain, selector);
  if (!existsSync(file)) {
    mkdirSync(join(dataDir, "dkim"), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    writeFileSync(file, privateKey, { mode: 0o600, flag: "wx" });
  }
  const privateKeyPem = readFileSync(file, "utf8");
  const publicKeyB64 = createPublicKey(privateKeyPem).export({ type: "spki", format: "der" }).toString("base64");
  return { domain, selector, privateKeyPem, publicKeyB64 };
}

export interface TxtRecord {
  name: string;
  type: "TXT";
  value: string;
}

export interface DnsRecordOptions {
  /** What SPF allows to send for the domain, e.g. ["ip4:203.0.113.7"] (default "mx": the domain's MX hosts). */
  spfMechanisms?: string[];
  /** DMARC policy for mail failing alignment (default "quarantine"). */
  dmarcPolicy?: "none" | "quarantine" | "reject";
  /** Where aggregate reports go (`rua=mailto:`), if anywhere. */
  dmarcReportTo?: string;
}

/** The three TXT records that make a domain's mail verifiable: SPF, DKIM (the public key) and DMARC. */
export function dnsRecordsFor(key: DkimKey, o: DnsRecordOptions = {}): TxtRecord[] {
  const spf = ["v=spf1", ...(o.spfMechanisms ?? ["mx"]), "-all"].join(" ");
  const dmarc = [`v=DMARC1`, `p=${o.dmarcPolicy ?? "quarantine"}`, "adkim=s", "aspf=r"]
    .concat(o.dmarcReportTo === undefined ? [] : [`rua=mailto:${o.dmarcReportTo}`])
    .join("; ");
  return [
    { name: key.domain, type: "TXT", value: spf },
    { name: `${key.selector}._domainkey.${key.domain}`, type: "TXT", value: `v=DKIM1; k=rsa; p=${key.publicKeyB64}` },
    { name: `_dmarc.${key.domain}`, type: "TXT", value: dmarc },
  ];
}

/** Zone-file lines; long values split into 255-byte strings as DNS TXT requires. */
export function zoneLines(records: readonly TxtRecord[]): string[] {
  return records.map((r) => {
    const chunks = r.value.match(/.{1,255}/g) ?? [""];
    return `${r.name}. IN TXT ${chunks.map((c) => `"${c}"`).join(" ")}`;
  });
}
