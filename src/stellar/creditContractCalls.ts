import { nativeToScVal, xdr } from '@stellar/stellar-sdk';
import type { ChainAction, ChainSigner } from '../domain/chainTransaction.js';
import { formatAmount } from '../domain/money.js';

/**
 * The Credit contract calls the backend makes (reference A.5), with their arguments encoded as the contract's
 * ABI expects and also kept in readable form for the record. Who must sign follows the contract's auth rules:
 * admin functions by the operator (the contract's admin), draw and repay by the borrower.
 */
export interface ContractCall {
  action: ChainAction;
  functionName: string;
  args: xdr.ScVal[];
  readable: Record<string, string | number | boolean | null>;
  signer: ChainSigner;
}

/** CreditStatus is an integer enum on the wire (a u32). */
export const CONTRACT_STATUS = { active: 0, suspended: 1, defaulted: 2, closed: 3, restricted: 4 } as const;

const address = (account: string) => nativeToScVal(account, { type: 'address' });
const i128 = (amount: bigint) => nativeToScVal(amount, { type: 'i128' });
const u32 = (value: number) => nativeToScVal(value, { type: 'u32' });

export interface RiskTerms {
  creditLimit: bigint;
  interestRateBps: number;
  /** 0..100, higher is riskier (the contract's convention). */
  riskScore: number;
}

const riskCall = (action: ChainAction, functionName: string, borrower: string, terms: RiskTerms): ContractCall => ({
  action,
  functionName,
  args: [address(borrower), i128(terms.creditLimit), u32(terms.interestRateBps), u32(terms.riskScore)],
  readable: { borrower, creditLimit: formatAmount(terms.creditLimit), interestRateBps: terms.interestRateBps, riskScore: terms.riskScore },
  signer: 'operator',
});

const amountCall = (action: ChainAction, functionName: string, borrower: string, amount: bigint): ContractCall => ({
  action,
  functionName,
  args: [address(borrower), i128(amount)],
  readable: { borrower, amount: formatAmount(amount) },
  signer: 'borrower',
});

const borrowerOnly = (action: ChainAction, functionName: string, borrower: string): ContractCall => ({
  action,
  functionName,
  args: [address(borrower)],
  readable: { borrower },
  signer: 'operator',
});

export const creditContract = {
  openCreditLine: (borrower: string, terms: RiskTerms) => riskCall('open', 'open_credit_line', borrower, terms),
  updateRiskParameters: (borrower: string, terms: RiskTerms) => riskCall('update_terms', 'update_risk_parameters', borrower, terms),
  drawCredit: (borrower: string, amount: bigint) => amountCall('draw', 'draw_credit', borrower, amount),
  /** The contract pulls the repayment with transfer_from: the wallet must have approved the contract on the token. */
  repayCredit: (borrower: string, amount: bigint) => amountCall('repay', 'repay_credit', borrower, amount),
  suspendCreditLine: (borrower: string) => borrowerOnly('suspend', 'suspend_credit_line', borrower),
  defaultCreditLine: (borrower: string) => borrowerOnly('default', 'default_credit_line', borrower),
  /** Only from Defaulted on the contract; the target is Active or Restricted. */
  reinstateCreditLine: (borrower: string, target: 'active' | 'restricted'): ContractCall => ({
    action: 'reinstate',
    functionName: 'reinstate_credit_line',
    args: [address(borrower), u32(CONTRACT_STATUS[target])],
    readable: { borrower, targetStatus: target },
    signer: 'operator',
  }),
  /** Closed by the admin (the operator), who may force-close any status. */
  closeCreditLine: (borrower: string, closer: string): ContractCall => ({
    action: 'close',
    functionName: 'close_credit_line',
    args: [address(borrower), address(closer)],
    readable: { borrower, closer },
    signer: 'operator',
  }),
  /**
   * Collateral recovered for a defaulted line (a liquidation's proceeds): the contract reduces the debt by at most
   * `utilized x closeFactorBps / 10000`, once per settlement id, and closes the line when nothing is left.
   */
  settleDefaultLiquidation: (borrower: string, recovered: bigint, settlementId: string, closeFactorBps: number): ContractCall => ({
    action: 'liquidate',
    functionName: 'settle_default_liquidation',
    args: [address(borrower), i128(recovered), nativeToScVal(settlementId, { type: 'symbol' }), u32(closeFactorBps), xdr.ScVal.scvVoid()],
    readable: { borrower, recoveredAmount: formatAmount(recovered), settlementId, closeFactorBps },
    signer: 'operator',
  }),
  getCreditLine: (borrower: string) => ({ functionName: 'get_credit_line', args: [address(borrower)] }),
};
