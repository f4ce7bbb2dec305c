/** EIP-1559 base fee, with a floor so an idle chain never drifts to a zero base fee. */
export interface FeeParams {
  /** Base fee never falls below this (wei). */
  minBaseFeePerGas: bigint;
  /** gasTarget = gasLimit / elasticity (Ethereum: 2). */
  elasticityMultiplier: bigint;
  /** Max change per block = 1/denominator (Ethereum: 8). */
  baseFeeChangeDenominator: bigint;
}

export function nextBaseFee(
  parent: { gasLimit: bigint; gasUsed: bigint; baseFeePerGas: bigint },
  params: FeeParams,
): bigint {
  const target = parent.gasLimit / params.elasticityMultiplier;
  let next = parent.baseFeePerGas;
  if (parent.gasUsed > target) {
    const delta = (parent.baseFeePerGas * (parent.gasUsed - target)) / target / params.baseFeeChangeDenominator;
    next = parent.baseFeePerGas + (delta > 0n ? delta : 1n);
  } else if (parent.gasUsed < target) {
    const delta = (parent.baseFeePerGas * (target - parent.gasUsed)) / target / params.baseFeeChangeDenominator;
    next = parent.baseFeePerGas - delta;
  }
  return next < params.minBaseFeePerGas ? params.minBaseFeePerGas : next;
}
