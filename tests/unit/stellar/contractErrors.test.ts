import { xdr } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { CONTRACT_ERRORS } from '../../../scripts/devnet/creditContract.js';
import { formatEventId } from '../../../scripts/devnet/events.js';
import { contractFailureFromDiagnostics, contractFailureFromText, CREDIT_CONTRACT_ERRORS } from '../../../src/stellar/contractErrors.js';
import { eventId } from '../../../src/stellar/contractSubmitter.js';

const diagnostic = (topics: xdr.ScVal[], data: xdr.ScVal) =>
  new xdr.DiagnosticEvent({
    inSuccessfulContractCall: false,
    event: new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      contractId: null,
      type: xdr.ContractEventType.diagnostic(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics, data })),
    }),
  });

describe('the Credit contract\'s errors', () => {
  it('names a contract error from a simulation\'s text, and keeps the host\'s reason otherwise', () => {
    expect(contractFailureFromText('HostError: Error(Contract, #6)\n\nEvent log (newest first): ...')).toEqual({ code: 6, name: 'OverLimit' });
    expect(contractFailureFromText('HostError: Error(Contract, #46)')).toEqual({ code: 46, name: 'CreditLineFrozen' });
    expect(contractFailureFromText('HostError: Error(Contract, #99)')).toEqual({ code: 99, name: 'Error(Contract, #99)' });
    expect(contractFailureFromText('HostError: Error(Auth, InvalidAction)')).toEqual({ code: null, name: 'Error(Auth, InvalidAction)' });
    expect(contractFailureFromText('something else')).toEqual({ code: null, name: 'HostError' });
  });

  it('covers every code of reference A.8 with a distinct name, as the devnet\'s contract numbers them', () => {
    expect(Object.keys(CREDIT_CONTRACT_ERRORS)).toHaveLength(50);
    expect(new Set(Object.values(CREDIT_CONTRACT_ERRORS)).size).toBe(50);
    for (const [name, code] of Object.entries(CONTRACT_ERRORS)) expect(CREDIT_CONTRACT_ERRORS[code], name).toBe(name);
  });

  it('reads a failed transaction\'s diagnostics: an ScError of type contract, or a host error printed as a string', () => {
    const scError = xdr.ScVal.scvError(xdr.ScError.sceContract(21));
    expect(contractFailureFromDiagnostics([diagnostic([xdr.ScVal.scvSymbol('error'), scError], xdr.ScVal.scvVoid())])).toEqual({ code: 21, name: 'CreditLineDefaulted' });
    expect(contractFailureFromDiagnostics([diagnostic([xdr.ScVal.scvSymbol('error')], xdr.ScVal.scvString('Error(Contract, #35): below the ratio'))])).toEqual({
      code: 35,
      name: 'CollateralRatioBelowMinimum',
    });
    expect(contractFailureFromDiagnostics([diagnostic([xdr.ScVal.scvSymbol('log')], xdr.ScVal.scvString('hello'))])).toBeNull();
    expect(contractFailureFromDiagnostics([])).toBeNull();
  });
});

describe('event ids of a transaction\'s events', () => {
  it('are the ids getEvents gives them (TOID of ledger, application order and operation, then the index)', () => {
    for (const [ledger, tx, op, index] of [
      [1, 1, 0, 0],
      [123_456, 7, 0, 3],
      [4_294_967_295, 1_048_575, 4_095, 9],
    ] as const) {
      expect(eventId(ledger, tx, op, index)).toBe(formatEventId({ ledger, tx, op, event: index }));
    }
    expect(eventId(2, 1, 0, 1)).toBe('0000000008589938688-0000000001');
  });
});
