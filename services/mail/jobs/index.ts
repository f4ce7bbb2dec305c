/**
 * The paid side of Azora Mail: `mail/send` and `mail/campaign` job handlers for the worker runtime, paid per
 * delivered message (the market's `submitMetered`), rate-limited by the worker's stake. README.md here.
 */

export { type MailTemplate, renderTemplate, variablesOf } from "../template.js";
export {
  decodeMailInput,
  encodeMailInput,
  MAIL_CAMPAIGN_KIND,
  MAIL_KINDS,
  MAIL_SEND_KIND,
  MAX_CAMPAIGN_RECIPIENTS,
  MAX_SEND_RECIPIENTS,
  type MailJobInput,
  type MailKind,
} from "./campaign.js";
export {
  DELIVERY_LOG_CONTENT_TYPE,
  type DeliveryLog,
  DeliveryLogError,
  decodeDeliveryLog,
  earnedOf,
  encodeDeliveryLog,
} from "./deliveryLog.js";
export { createMailJobHandler, MAIL_ENGINE, type MailJobHandlerOptions, messageIdFor } from "./handler.js";
export { DEFAULT_RATE_POLICY, type RatePolicy, SendPacer, sendDurationSec, sendRatePerHour } from "./rateLimit.js";
export { createRelaySender, parseRelayURL, type RelaySenderOptions } from "./relaySender.js";
export { createServiceSender, MailServiceError, type ServiceSenderOptions } from "./serviceSender.js";
