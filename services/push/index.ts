/** Azora Push — WebSocket and Web Push notifications for signed-in clients; chain events as notifications. */
export { type Channel, type Identity, parseChannel, userChannel, walletChannel } from "./channels.js";
export { type PushConfig, PushConfigSchema, resolvePushConfig } from "./config.js";
export { PushError, PushErrorCode } from "./errors.js";
export { type PushService, startPushService } from "./server.js";
export { bearerOf, createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from "./tokens.js";
