import type { xdr } from '@stellar/stellar-sdk';

/**
 * The Credit contract's `ContractError` codes (reference A.8). A failed call surfaces as `Error(Contract, #n)`;
 * several codes are reused for other meanings (5, 12, 14, 21, 33), so a name is the contract's own, not a diagnosis.
 */
export const CREDIT_CONTRACT_ERRORS: Readonly<Record<number, string>> = {
  1: 'Unauthorized',
  2: 'NotAdmin',
  3: 'CreditLineNotFound',
  4: 'CreditLineClosed',
  5: 'InvalidAmount',
  6: 'OverLimit',
  7: 'NegativeLimit',
  8: 'RateTooHigh',
  9: 'ScoreTooHigh',
  10: 'UtilizationNotZero',
  11: 'Reentrancy',
  12: 'Overflow',
  14: 'AlreadyInitialized',
  15: 'AdminAcceptTooEarly',
  17: 'DrawExceedsMaxAmount',
  18: 'Paused',
  19: 'DrawsFrozen',
  20: 'CreditLineSuspended',
  21: 'CreditLineDefaulted',
  22: 'MissingLiquidityToken',
  23: 'MissingLiquiditySource',
  24: 'InsufficientLiquidityReserve',
  28: 'RepayExceedsMaxAmount',
  29: 'DrawCooldownActive',
  30: 'TreasuryNotSet',
  31: 'ExposureCapExceeded',
  32: 'AdminNotInitialized',
  33: 'TimestampRegression',
  34: 'LimitOutOfBounds',
  35: 'CollateralRatioBelowMinimum',
  36: 'OraclePriceInvalid',
  37: 'OraclePriceStale',
  38: 'OraclePriceDeviation',
  39: 'InsufficientCollateralBalance',
  40: 'BorrowerFrozen',
  41: 'BountyNotSet',
  42: 'NoPendingTreasuryWithdrawal',
  46: 'CreditLineFrozen',
  47: 'DrawReversalWindowExpired',
  48: 'OriginalDrawNotFound',
  49: 'AttestationBatchNotFound',
  50: 'OracleQuorumNotMet',
  51: 'AlreadySettled',
  52: 'InvalidRiskWeight',
  53: 'InvalidAttestation',
  54: 'RiskAdminCooldownActive',
  55: 'OracleNotFound',
  57: 'FreezeCooldownActive',
  58: 'AdminCollateralCooldownActive',
  59: 'LiquidationGraceActive',
};

export interface ContractFailure {
  /** The contract's error code, or null when the host failed for another reason (a string panic, auth, budget). */
  code: number | null;
  /** The contract's error name, `Error(Contract, #n)` for a code we do not know, or the host's error (`Error(Auth, InvalidAction)`). */
  name: string;
}

const CONTRACT_ERROR = /Error\(Contract, #(\d+)\)/;
const HOST_ERROR = /Error\((\w+), (\w+)\)/;

/** Reads the failure out of a simulation's error text or a failed transaction's diagnostic message. */
export function contractFailureFromText(text: string): ContractFailure {
  const contract = CONTRACT_ERROR.exec(text);
  if (contract) {
    const code = Number(contract[1]);
    return { code, name: CREDIT_CONTRACT_ERRORS[code] ?? `Error(Contract, #${code})` };
  }
  const host = HOST_ERROR.exec(text);
  return { code: null, name: host ? host[0] : 'HostError' };
}

/**
 * A failed transaction's diagnostic events: a contract error is an `ScError` of type contract in the event's topics
 * or data (the network's form), or named in a string (what some nodes and the devnet print).
 */
export function contractFailureFromDiagnostics(events: xdr.DiagnosticEvent[]): ContractFailure | null {
  for (const diagnostic of events) {
    const body = diagnostic.event().body().v0();
    for (const value of [...body.topics(), body.data()]) {
      // Compared by name: decoded XDR enums are not always the same instances as the constructors'.
      if (value.switch().name === 'scvError' && value.error().switch().name === 'sceContract') {
        const code = value.error().contractCode();
        return { code, name: CREDIT_CONTRACT_ERRORS[code] ?? `Error(Contract, #${code})` };
      }
      if (value.switch().name === 'scvString') {
        const text = value.str().toString();
        if (CONTRACT_ERROR.test(text) || HOST_ERROR.test(text)) return contractFailureFromText(text);
      }
    }
  }
  return null;
}
