import type { UpgradePlan } from "../../runtime/effects.js";
import { AzoraError } from "../../runtime/lib/errors.js";

export enum UpgradeErrorCode {
  /** A scheduled software upgrade needs a newer version than this node runs, from this height on. */
  REQUIRED = "UPGRADE_ERROR_REQUIRED",
}

/**
 * The node stops here: the chain scheduled a software upgrade (governance) that this version does not
 * meet. Not a fault — the operator installs the named version and starts the node again, and it resumes
 * at `height` (nothing was signed or executed there).
 */
export class UpgradeRequiredError extends AzoraError<{
  code: UpgradeErrorCode.REQUIRED;
  name: string;
  height: bigint;
  version: string;
  nodeVersion: string;
}> {}

/** `MAJOR.MINOR.PATCH` (a pre-release or build suffix is not accepted in a plan). */
const VERSION_RE = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;
const NAME_RE = /^[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** Why a plan is not valid (null when it is): every node drops an invalid plan alike. */
export function invalidPlanReason(p: UpgradePlan): string | null {
  if (!NAME_RE.test(p.name)) return "name must be 1–64 printable ASCII characters";
  if (!VERSION_RE.test(p.version)) return "version must be MAJOR.MINOR.PATCH";
  if (p.height < 1n) return "height must be positive";
  return null;
}

/** Compares two `MAJOR.MINOR.PATCH` versions (a suffix such as `-rc.1` on `a` is ignored). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[-+]/)[0].split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Software upgrades the chain scheduled (Cosmos x/upgrade): from a plan's height on, nodes whose version
 * is below the plan's stop before processing that height, with a message naming the plan, instead of
 * executing blocks with rules they do not have. At most one plan is pending: a later plan reported
 * before the pending one's height replaces it. A node at or above every version named goes on, so a
 * new node syncs from genesis across old upgrades. Plans come from blocks' effects and are reloaded
 * from them at start.
 */
export class UpgradeSchedule {
  /** Plans by the block that reported them, in report order. */
  private readonly plans: { source: bigint; plan: UpgradePlan }[] = [];

  constructor(private readonly nodeVersion: string) {}

  /** Records a plan reported by block `source` (replacing a pending one); invalid plans are refused with why. */
  record(source: bigint, plan: UpgradePlan): string | null {
    const why = invalidPlanReason(plan);
    if (why !== null) return why;
    // A plan still pending when a new one is reported (its height above the reporting block) is replaced.
    for (let i = this.plans.length - 1; i >= 0; i--) if (this.plans[i].plan.height > source) this.plans.splice(i, 1);
    const height = plan.height > source ? plan.height : source + 1n;
    this.plans.push({ source, plan: { ...plan, height } });
    return null;
  }

  /** The plan that stops this node at `height`, if any (the one with the highest version among those in force). */
  blocking(height: bigint): UpgradePlan | null {
    let worst: UpgradePlan | null = null;
    for (const { plan } of this.plans) {
      if (plan.height > height || compareVersions(this.nodeVersion, plan.version) >= 0) continue;
      if (worst === null || compareVersions(plan.version, worst.version) > 0) worst = plan;
    }
    return worst;
  }

  /** The message a node stops with at `height`, or null when it may process it. */
  haltReason(height: bigint): string | null {
    return this.requiredAt(height)?.message ?? null;
  }

  /** Throws `UpgradeRequiredError` when this node must not process `height`. */
  check(height: bigint): void {
    const e = this.requiredAt(height);
    if (e !== null) throw e;
  }

  private requiredAt(height: bigint): UpgradeRequiredError | null {
    const p = this.blocking(height);
    if (p === null) return null;
    return new UpgradeRequiredError(
      {
        code: UpgradeErrorCode.REQUIRED,
        name: p.name,
        height: p.height,
        version: p.version,
        nodeVersion: this.nodeVersion,
      },
      `software upgrade "${p.name}" is required from height ${p.height}: this node runs version ${this.nodeVersion}, ` +
        `the chain needs ${p.version} or later. Install it and start the node again; it resumes at height ${height}`,
    );
  }

  /** The plan still ahead of `height`, if any (for RPC). */
  pending(height: bigint): UpgradePlan | null {
    for (const { plan } of this.plans) if (plan.height > height) return plan;
    return null;
  }

  /** Forgets plans reported by blocks above `height` (a rollback). */
  truncate(height: bigint): void {
    for (let i = this.plans.length - 1; i >= 0; i--) if (this.plans[i].source > height) this.plans.splice(i, 1);
  }
}
