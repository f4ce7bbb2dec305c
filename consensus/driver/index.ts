export {
  ConsensusDriver,
  DEFAULT_STALL_CHECK_MS,
  DEFAULT_SYNC_APPLY_SLICE_MS,
  type DriverModules,
  type DriverOptions,
  type DriverStatus,
} from "./driver.js";
export { HeldMessageCode } from "./inbound.js";
export type {
  AppPort,
  BlockSyncFactory,
  BlockSyncPort,
  ClockPort,
  ConsensusMetrics,
  ConsensusTopic,
  HeightTiming,
  InboundVerdict,
  NetworkPort,
  ParamsPort,
  SignerPort,
  SyncedBlock,
  ValidatorSchedulePort,
  ValueVerdict,
  WALPort,
} from "./ports.js";
export { decodeWalInput, encodeWalInput } from "./walCodec.js";
