/**
 * Channel names and who may read them — pure rules, shared by the WebSocket and HTTP paths.
 *
 * - `user:<sub>`: an identity's own channel (Azora Auth's `sub`); only that identity reads it.
 * - `wallet:0x<address>`: chain events for an address (payments, escrow, jobs); readable by an identity whose
 *   token carries that address in its `wallet` claim (Azora Auth links it after a SIWE sign-in).
 * - `topic:<name>`: public topics any signed-in client may read (course announcements, a dApp's feed).
 * Publishing is for the service's own publishers (the mail worker, a dApp backend) holding the publish token.
 */
import { PushError, PushErrorCode } from "./errors.js";

export interface Identity {
  /** The token's subject. */
  sub: string;
  /** Lower-case 0x address linked to the identity, if any. */
  wallet?: string;
}

export type Channel =
  | { kind: "user"; sub: string; name: string }
  | { kind: "wallet"; address: string; name: string }
  | { kind: "topic"; topic: string; name: string };

const SUB = /^[A-Za-z0-9._:@|+-]{1,128}$/;
const TOPIC = /^[a-z0-9][a-z0-9._/-]{0,127}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Parses and normalises a channel name (wallet addresses lower-cased); throws INVALID_CHANNEL. */
export function parseChannel(name: string): Channel {
  const i = name.indexOf(":");
  const prefix = i < 0 ? "" : name.slice(0, i);
  const rest = i < 0 ? "" : name.slice(i + 1);
  if (prefix === "user" && SUB.test(rest)) return { kind: "user", sub: rest, name };
  if (prefix === "wallet" && ADDRESS.test(rest)) {
    const address = rest.toLowerCase();
    return { kind: "wallet", address, name: `wallet:${address}` };
  }
  if (prefix === "topic" && TOPIC.test(rest)) return { kind: "topic", topic: rest, name };
  throw new PushError({ code: PushErrorCode.INVALID_CHANNEL, channel: name });
}

export function userChannel(sub: string): string {
  return parseChannel(`user:${sub}`).name;
}

export function walletChannel(address: string): string {
  return parseChannel(`wallet:${address}`).name;
}

/** Throws FORBIDDEN unless `who` may read `channel`. */
export function assertCanRead(who: Identity, channel: Channel): void {
  const ok =
    channel.kind === "topic" ||
    (channel.kind === "user" && channel.sub === who.sub) ||
    (channel.kind === "wallet" && who.wallet !== undefined && channel.address === who.wallet.toLowerCase());
  if (!ok) throw new PushError({ code: PushErrorCode.FORBIDDEN, channel: channel.name });
}

/** The channels a client gets without asking: its own, and its wallet's if it has one. */
export function defaultChannels(who: Identity): string[] {
  return who.wallet === undefined ? [userChannel(who.sub)] : [userChannel(who.sub), walletChannel(who.wallet)];
}
