import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { type GossipSub, gossipsub, type Message, StrictNoSign, TopicValidatorResult } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p, PeerId } from "@libp2p/interface";
import { noise } from "@libp2p/noise";
import { peerIdFromString } from "@libp2p/peer-id";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import type { Logger } from "../../runtime/lib/logger.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { NetworkError, NetworkErrorCode, ReqRespError, ReqRespErrorCode } from "./errors.js";
import { installJoinedFrameWrites } from "./frameWrites.js";
import { installEmptyBufferGuard } from "./lengthPrefix.js";
import { createMessageIdFn, messageIdKey } from "./messageId.js";
import type { NetworkMetrics } from "./metrics.js";
import { DEFAULT_P2P_OPTIONS, type P2POptions, resolveTopicLimits, type TopicLimits } from "./options.js";
import { type PersistentPeer, PersistentPeers } from "./persistentPeers.js";
import { type GossipHandler, GossipProcessor } from "./processor/processor.js";
import {
  decodeStatus,
  encodeBlocksRequest,
  encodeDirectRequest,
  encodeStatusRequest,
  MAX_STATUS_BYTES,
  type PeerStatus,
} from "./reqresp/codec.js";
import { ReqResp } from "./reqresp/reqResp.js";
import {
  BAN_PENALTY_POINTS,
  createScoreParams,
  GOSSIP_REJECT_PENALTY,
  PeerBans,
  PeerPenalties,
  SCORE_THRESHOLDS,
} from "./scoring.js";
import { GOSSIP_TOPICS, type GossipTopic, type ReqRespProtocol, stringifyTopic } from "./topics.js";
import { installHalfWindowUpdates } from "./yamuxWindow.js";

/** Gossipsub class members that its exported `GossipSub` interface leaves out; checked at start-up. */
interface GossipSubInternals extends GossipSub {
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: TopicValidatorResult): void;
  getScore(peerId: string): number;
  getMeshPeers(topic: string): string[];
}

type Services = { identify: unknown; pubsub: GossipSub };

export interface P2PModules {
  log: Logger;
  metrics?: NetworkMetrics | null;
}

/** Penalty points (P5, app-specific score) per request–response misbehaviour. */
const MISBEHAVIOUR_PENALTY = 10;
/** RPC framing and control messages on top of the largest gossip payload. */
const GOSSIP_RPC_OVERHEAD_BYTES = 64 * 1024;
const DIRECT_REQUEST_OVERHEAD_BYTES = 64;

/**
 * The node's libp2p host: TCP + Noise + Yamux + identify, gossipsub (StrictNoSign, content-hash ids,
 * async validation driven by the topic handlers, peer scoring), request–response for direct messages,
 * block sync and status, and persistent bootstrap peers.
 */
export class P2PNetwork {
  readonly peerId: string;
  private readonly topicByString = new Map<string, GossipTopic>();
  private readonly connectedCallbacks = new Set<(peer: string) => void>();
  /** Decaying fault points per peer (half-life 30 s); BAN_PENALTY_POINTS of them ban the peer. */
  private readonly faults = new PeerPenalties();
  private stopped = false;

  private constructor(
    private readonly opts: P2POptions,
    private readonly limits: Record<GossipTopic, TopicLimits>,
    private readonly libp2p: Libp2p<Services>,
    private readonly pubsub: GossipSubInternals,
    private readonly processor: GossipProcessor,
    private readonly reqResp: ReqResp,
    private readonly persistent: PersistentPeers,
    private readonly penalties: PeerPenalties,
    private readonly bans: PeerBans,
    private readonly log: Logger,
    private readonly metrics: NetworkMetrics | null,
  ) {
    this.peerId = libp2p.peerId.toString();
    for (const t of GOSSIP_TOPICS) this.topicByString.set(stringifyTopic(opts.chainId, t), t);
  }

  static async create(opts: P2POptions, modules: P2PModules): Promise<P2PNetwork> {
    if (opts.nodeKeySeed.length !== 32) {
      throw new NetworkError({ code: NetworkErrorCode.INVALID_ARGUMENT, reason: "nodeKeySeed must be 32 bytes" });
    }
    const log = modules.log;
    const metrics = modules.metrics ?? null;
    const limits = resolveTopicLimits(opts.topicLimits);
    const maxGossipBytes = Math.max(...Object.values(limits).map((l) => l.maxMessageBytes));
    const persistentPeers = opts.bootstrap.map(parseBootstrapAddr);
    const penalties = new PeerPenalties();
    const bans = new PeerBans(opts.peerBanMs ?? DEFAULT_P2P_OPTIONS.peerBanMs);
    const topicStrings = GOSSIP_TOPICS.map((t) => stringifyTopic(opts.chainId, t));
    const d = DEFAULT_P2P_OPTIONS;
    // One window update per half window consumed, not one per received frame (yamuxWindow.ts).
    installHalfWindowUpdates();
    // Noise's frame reader without a new RangeError per socket read (lengthPrefix.ts).
    installEmptyBufferGuard();
    // One socket write per Noise frame, not one for its length prefix and one for its ciphertext (frameWrites.ts).
    installJoinedFrameWrites();

    const libp2p = await createLibp2p<Services>({
      start: false,
      privateKey: await generateKeyPairFromSeed("Ed25519", opts.nodeKeySeed),
      addresses: { listen: opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: opts.maxPeers ?? d.maxPeers },
      // A banned peer (score fell to the graylist threshold) can neither dial in nor be dialled.
      connectionGater: {
        denyDialPeer: (peer) => bans.isBanned(peer.toString()),
        denyInboundEncryptedConnection: (peer) => bans.isBanned(peer.toString()),
        denyOutboundEncryptedConnection: (peer) => bans.isBanned(peer.toString()),
      },
      services: {
        identify: identify(),
        pubsub: gossipsub({
          // Consensus messages carry their own ed25519 signatures: no second signature per hop.
          globalSignaturePolicy: StrictNoSign,
          // Content-hash ids, sha256(topic ‖ 0x00 ‖ data): the same payload dedupes per topic (messageId.ts).
          msgIdFn: createMessageIdFn(topicStrings),
          msgIdToStrFn: messageIdKey,
          asyncValidation: true,
          emitSelf: false,
          fallbackToFloodsub: false,
          floodPublish: true,
          doPX: false,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          heartbeatInterval: opts.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
          allowedTopics: topicStrings,
          maxInboundDataLength: maxGossipBytes + GOSSIP_RPC_OVERHEAD_BYTES,
          scoreParams: createScoreParams(opts.chainId, penalties),
          scoreThresholds: SCORE_THRESHOLDS,
        }),
      },
    });
    const pubsub = libp2p.services.pubsub as GossipSubInternals;
    for (const m of ["reportMessageValidationResult", "getScore", "getMeshPeers"] as const) {
      if (typeof pubsub[m] !== "function") throw new Error(`@libp2p/gossipsub lacks ${m}(); check its version`);
    }

    const processor = new GossipProcessor(limits, { log, metrics });
    // Request–response penalties go through the network (which bans); it exists once everything is built.
    let net: P2PNetwork | null = null;
    const requestTimeoutMs = opts.requestTimeoutMs ?? d.requestTimeoutMs;
    const reqResp = new ReqResp(
      {
        chainId: opts.chainId,
        blocksTimeoutMs: requestTimeoutMs,
        shortTimeoutMs: Math.ceil(requestTimeoutMs / 3),
        maxBlocksPerRequest: opts.maxBlocksPerRequest ?? d.maxBlocksPerRequest,
        maxBlockBytes: opts.maxBlockBytes ?? d.maxBlockBytes,
        maxBlocksResponseBytes: opts.maxBlocksResponseBytes ?? d.maxBlocksResponseBytes,
        maxDirectRequestBytes: maxGossipBytes + DIRECT_REQUEST_OVERHEAD_BYTES,
      },
      {
        libp2p,
        log,
        metrics,
        direct: (topic, data, from) =>
          new Promise<TopicValidatorResult>((resolve) => processor.submit(topic, data, from, resolve)),
        onPeerMisbehaved: (peer: string, protocol: ReqRespProtocol) => {
          net?.penalize(peer, MISBEHAVIOUR_PENALTY, `reqresp_${protocol}`);
          log.debug("peer misbehaved on request-response", { peer, protocol });
        },
      },
    );
    // A shared validator list may name this node too; never dial ourselves.
    const others = persistentPeers.filter((p) => !p.peerId.equals(libp2p.peerId));
    const persistent = new PersistentPeers(
      libp2p,
      others,
      { minDelayMs: opts.redialMinMs ?? d.redialMinMs, maxDelayMs: opts.redialMaxMs ?? d.redialMaxMs },
      log,
    );
    net = new P2PNetwork(opts, limits, libp2p, pubsub, processor, reqResp, persistent, penalties, bans, log, metrics);
    await net.start();
    return net;
  }

  private async start(): Promise<void> {
    this.libp2p.addEventListener("peer:connect", (evt) => {
      const peer = evt.detail.toString();
      this.persistent.onConnect(peer);
      this.metrics?.setPeers(this.libp2p.getPeers().length);
      this.log.debug("peer connected", { peer });
      for (const cb of this.connectedCallbacks) {
        try {
          cb(peer);
        } catch (e) {
          this.log.warn("onPeerConnected callback failed", { peer }, e);
        }
      }
    });
    this.libp2p.addEventListener("peer:disconnect", (evt) => {
      const peer = evt.detail.toString();
      this.metrics?.setPeers(this.libp2p.getPeers().length);
      this.log.debug("peer disconnected", { peer });
      this.persistent.onDisconnect(peer);
    });
    this.pubsub.addEventListener("gossipsub:message", (evt) => {
      const { propagationSource, msgId, msg } = evt.detail;
      this.onGossipMessage(propagationSource, msgId, msg);
    });
    await this.reqResp.start();
    await this.libp2p.start();
    await this.persistent.start();
    this.log.info("p2p started", { peerId: this.peerId, listen: this.multiaddrs() });
  }

  private onGossipMessage(source: PeerId, msgId: string, msg: Message): void {
    const from = source.toString();
    const report = (result: TopicValidatorResult) => {
      if (this.stopped) return;
      this.pubsub.reportMessageValidationResult(msgId, from, result);
      // Gossipsub's own P4 already lowers the peer's gossip score; this counts toward disconnecting it.
      if (result === TopicValidatorResult.Reject) this.addFault(from, GOSSIP_REJECT_PENALTY, `gossip_${topic}`);
    };
    const topic = this.topicByString.get(msg.topic);
    if (topic === undefined) {
      // allowedTopics keeps these out; reaching here would be a gossipsub change.
      report(TopicValidatorResult.Ignore);
      return;
    }
    // A zero-copy plain Uint8Array view: gossipsub hands out Buffers, which compare and serialise differently.
    const data = new Uint8Array(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
    this.processor.submit(topic, data, from, report);
  }

  /** Listen addresses with `/p2p/<peerId>`, e.g. `/ip4/127.0.0.1/tcp/41234/p2p/12D3Koo…`. */
  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((ma) => ma.toString());
  }

  /**
   * Subscribes to the topic and routes its messages (gossip and direct) to `handler` through the
   * topic's bounded queue. Returning = Accept (forwarded); throwing `GossipActionError` = Ignore/Reject.
   * `from` is the peer that relayed the message, not necessarily its author (StrictNoSign has none).
   */
  onGossip(topic: GossipTopic, handler: GossipHandler): void {
    this.processor.setHandler(topic, handler);
    const topicStr = stringifyTopic(this.opts.chainId, topic);
    if (!this.pubsub.getTopics().includes(topicStr)) this.pubsub.subscribe(topicStr);
  }

  /**
   * Gossips to every connected subscriber (flood publish). Never throws for lack of peers; a payload
   * already seen (same bytes on the same topic within gossipsub's seen TTL) is silently not re-sent,
   * so use `sendDirect` to repeat a message to a peer.
   */
  async publish(topic: GossipTopic, data: Uint8Array): Promise<void> {
    this.assertRunning();
    this.assertSize(topic, data);
    const { recipients } = await this.pubsub.publish(stringifyTopic(this.opts.chainId, topic), data);
    if (recipients.length === 0) this.log.debug("published to no peer", { topic });
  }

  /**
   * Delivers one message to one peer's `onGossip` handler for `topic` (not re-gossiped there). Resolves
   * when the peer's handler accepted it; rejects with `ReqRespError` (IGNORED, REJECTED, TIMEOUT, …).
   */
  async sendDirect(peer: string, topic: GossipTopic, data: Uint8Array): Promise<void> {
    this.assertRunning();
    this.assertSize(topic, data);
    await this.reqResp.request("direct", parsePeerId(peer), encodeDirectRequest(topic, data), {
      maxChunks: 0,
      maxChunkBytes: 512,
      maxTotalBytes: 0,
      timeoutMs: this.shortTimeoutMs(),
    });
  }

  /** Serves `/azora/<chainId>/blocks/1`: encoded blocks-with-commits for heights [from, from+count). */
  handleBlockRequests(handler: (from: bigint, count: number) => Promise<Uint8Array[]>): void {
    this.reqResp.setBlocksHandler(handler);
  }

  /**
   * Asks `peer` for up to `count` blocks from `from` (1 ≤ count ≤ maxBlocksPerRequest). The answer may
   * be shorter (the peer's head, or its response byte cap); ask again from where it stopped.
   */
  async requestBlocks(peer: string, from: bigint, count: number): Promise<Uint8Array[]> {
    this.assertRunning();
    const max = this.opts.maxBlocksPerRequest ?? DEFAULT_P2P_OPTIONS.maxBlocksPerRequest;
    if (!Number.isInteger(count) || count < 1 || count > max || from < 0n) {
      throw new NetworkError({
        code: NetworkErrorCode.INVALID_ARGUMENT,
        reason: `blocks request needs from >= 0 and 1 <= count <= ${max}`,
      });
    }
    return this.reqResp.request("blocks", parsePeerId(peer), encodeBlocksRequest(from, count), {
      maxChunks: count,
      maxChunkBytes: this.opts.maxBlockBytes ?? DEFAULT_P2P_OPTIONS.maxBlockBytes,
      maxTotalBytes: this.opts.maxBlocksResponseBytes ?? DEFAULT_P2P_OPTIONS.maxBlocksResponseBytes,
      timeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_P2P_OPTIONS.requestTimeoutMs,
    });
  }

  /** Serves `/azora/<chainId>/status/1` with this node's head and its proof. */
  handleStatus(handler: () => PeerStatus | Promise<PeerStatus>): void {
    this.reqResp.setStatusHandler(handler);
  }

  async requestStatus(peer: string): Promise<PeerStatus> {
    this.assertRunning();
    const chunks = await this.reqResp.request("status", parsePeerId(peer), encodeStatusRequest(), {
      maxChunks: 1,
      maxChunkBytes: MAX_STATUS_BYTES,
      maxTotalBytes: MAX_STATUS_BYTES,
      timeoutMs: this.shortTimeoutMs(),
    });
    try {
      if (chunks.length !== 1) throw new CodecError("status", "no status in the response");
      return decodeStatus(chunks[0]);
    } catch (e) {
      throw new ReqRespError({
        code: ReqRespErrorCode.INVALID_RESPONSE,
        protocol: "status",
        peer,
        reason: (e as Error).message,
      });
    }
  }

  /** One entry per connected peer: its id and the remote address of its first open connection. */
  peers(): { id: string; address: string }[] {
    const out = new Map<string, string>();
    for (const c of this.libp2p.getConnections()) {
      const id = c.remotePeer.toString();
      if (!out.has(id)) out.set(id, c.remoteAddr.toString());
    }
    return [...out].map(([id, address]) => ({ id, address }));
  }

  /** Gossipsub's score of a peer as seen by this node (0 for unknown peers). */
  peerScore(peer: string): number {
    return this.pubsub.getScore(peer);
  }

  /**
   * Costs `peer` penalty points for misbehaviour gossipsub cannot see: request–response abuse, and
   * what block sync reports (false height claims, timeouts, nothing served). Points decay (half-life
   * 30 s) and count in gossipsub's peer score (P5). They also count toward a ban, with 30 points per
   * gossip message rejected as invalid: a peer whose fault points reach BAN_PENALTY_POINTS (80, as
   * low as gossipsub's graylist threshold) is disconnected and banned for `peerBanMs`. Only these
   * provable or costly faults ban, not gossipsub's protocol-level penalties (P7), which an honest
   * peer on a busy machine also collects.
   */
  penalize(peer: string, points: number, reason: string): void {
    if (this.stopped) return;
    this.penalties.add(peer, points);
    this.addFault(peer, points, reason);
  }

  /** True while `peer` is banned (it can neither connect nor be dialled). */
  isBanned(peer: string): boolean {
    return this.bans.isBanned(peer);
  }

  /** Peers in this node's gossip mesh for a topic. */
  meshPeers(topic: GossipTopic): string[] {
    return this.pubsub.getMeshPeers(stringifyTopic(this.opts.chainId, topic));
  }

  /** `cb` runs on each new peer connection; the returned function unsubscribes. */
  onPeerConnected(cb: (peer: string) => void): () => void {
    this.connectedCallbacks.add(cb);
    return () => {
      this.connectedCallbacks.delete(cb);
    };
  }

  /** Stops dialling, drops queued gossip (as Ignore), closes every connection and the listeners. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.persistent.stop();
    this.processor.stop();
    this.stopped = true;
    this.connectedCallbacks.clear();
    await this.libp2p.stop();
    this.log.info("p2p stopped", { peerId: this.peerId });
  }

  /** Fault points decide bans: everything `penalize` counts, plus gossip messages rejected as invalid. */
  private addFault(peer: string, points: number, reason: string): void {
    if (this.stopped) return;
    this.faults.add(peer, points);
    this.log.debug("peer fault", { peer, points, reason });
    if (this.faults.get(peer) >= BAN_PENALTY_POINTS && !this.bans.isBanned(peer)) this.ban(peer, reason);
  }

  private ban(peer: string, reason: string): void {
    this.bans.ban(peer);
    this.metrics?.onPeerBanned();
    // `reason` is a bounded code of ours (which fault tipped it), never peer-supplied text.
    this.log.info("peer banned for misbehaviour", { peer, points: Math.round(this.faults.get(peer)), reason });
    let id: PeerId;
    try {
      id = parsePeerId(peer);
    } catch {
      return;
    }
    void this.libp2p.hangUp(id).catch((e) => this.log.debug("hang-up failed", { peer, err: (e as Error).message }));
  }

  private shortTimeoutMs(): number {
    return Math.ceil((this.opts.requestTimeoutMs ?? DEFAULT_P2P_OPTIONS.requestTimeoutMs) / 3);
  }

  private assertRunning(): void {
    if (this.stopped) throw new NetworkError({ code: NetworkErrorCode.STOPPED });
  }

  private assertSize(topic: GossipTopic, data: Uint8Array): void {
    const maxSize = this.limits[topic].maxMessageBytes;
    if (data.length > maxSize) {
      throw new NetworkError({ code: NetworkErrorCode.MESSAGE_TOO_LARGE, topic, size: data.length, maxSize });
    }
  }
}

function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer);
  } catch {
    throw new NetworkError({ code: NetworkErrorCode.INVALID_PEER, value: peer });
  }
}

function parseBootstrapAddr(addr: string): PersistentPeer {
  try {
    const ma = multiaddr(addr);
    const id = ma.getComponents().findLast((c) => c.name === "p2p")?.value;
    if (id === undefined) throw new Error("no /p2p/ component");
    return { peerId: peerIdFromString(id), addr: ma };
  } catch {
    throw new NetworkError({ code: NetworkErrorCode.INVALID_PEER, value: addr });
  }
}
