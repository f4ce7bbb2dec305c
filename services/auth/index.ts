/** Azora Auth: the public surface (the CLI, Azora Mail and Azora Push import from here only). */
export {
  type AuthConfig,
  type AuthConfigInput,
  AuthConfigSchema,
  loadAuthConfigFile,
  resolveAuthConfig,
} from "./config.js";
export { type AuthCore, createAuthCore, openAuthRepository } from "./core.js";
export { AuthError, AuthErrorCode, type AuthErrorType, httpStatusOf, isAuthError } from "./errors.js";
export {
  type AuthMail,
  createMailServiceMailer,
  createSMTPMailer,
  type Mailer,
  type MailServiceMailerOptions,
  RecordingMailer,
} from "./mailer.js";
export { type AuthService, buildAuthApp, startAuthServer } from "./server.js";
export type { TokenPair } from "./sessions.js";
export { type ContractSignatureCheck, erc1271ViaRPC } from "./siwe.js";
export type { AuthRepository, UserRow } from "./store/repository.js";
export { SqlAuthRepository } from "./store/repository.js";
export { openPostgres, openSqlite, type SqlDb } from "./store/sql.js";
export {
  type AccessClaims,
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  type VerifierOptions,
} from "./verifier.js";
