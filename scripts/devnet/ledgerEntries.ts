import { Address, StrKey, xdr } from '@stellar/stellar-sdk';
import { CREDIT_LINE_DATA } from './abi.js';
import type { DevnetCore } from './core.js';
import { encode } from './scval.js';
import { WASM_HASH } from './transactions.js';

/**
 * `getLedgerEntries`: resolves LedgerKeys against the last closed ledger. Served entries: classic accounts
 * and their trustlines, and the Credit contract's instance, code and persistent data — the credit lines
 * under the raw borrower Address, and the `CreditLineIdByBorrower` / `CreditLineBorrowerById` /
 * `CollateralBalance` enum keys. Anything else is simply absent, as on a real node.
 */
export interface ResolvedEntry {
  data: xdr.LedgerEntryData;
  lastModifiedLedgerSeq: number;
  liveUntilLedgerSeq?: number;
}

/** Persistent entries are bumped to about six months of ledgers on every touch (reference A.4). */
const TTL_EXTEND_TO = 3_110_400;

/** A minimal WASM module header: the devnet's contract code entry is a stand-in, not the real contract. */
const FAKE_WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

function contractData(contractId: string, key: xdr.ScVal, val: xdr.ScVal): xdr.LedgerEntryData {
  return xdr.LedgerEntryData.contractData(
    new xdr.ContractDataEntry({
      ext: new xdr.ExtensionPoint(0),
      contract: new Address(contractId).toScAddress(),
      key,
      durability: xdr.ContractDataDurability.persistent(),
      val,
    }),
  );
}

/** Instance storage keys: symbol keys first, then enum (vec) keys, each group sorted — ScMap order. */
function instanceVal(core: DevnetCore): xdr.ScVal {
  const state = core.contract.state('committed');
  const sym = (s: string) => xdr.ScVal.scvSymbol(s);
  const enumKey = (s: string) => xdr.ScVal.scvVec([sym(s)]);
  const storage = [
    new xdr.ScMapEntry({ key: sym('admin'), val: new Address(state.admin).toScVal() }),
    new xdr.ScMapEntry({ key: sym('paused'), val: xdr.ScVal.scvBool(state.paused) }),
    new xdr.ScMapEntry({ key: enumKey('CreditLineCount'), val: xdr.ScVal.scvU32(state.borrowerById.length) }),
    new xdr.ScMapEntry({ key: enumKey('TotalCollateral'), val: encode('i128', state.totalCollateral) }),
    new xdr.ScMapEntry({ key: enumKey('TotalUtilized'), val: encode('i128', state.totalUtilized) }),
  ];
  return xdr.ScVal.scvContractInstance(
    new xdr.ScContractInstance({ executable: xdr.ContractExecutable.contractExecutableWasm(WASM_HASH), storage }),
  );
}

function resolveContractData(core: DevnetCore, key: xdr.LedgerKeyContractData): ResolvedEntry | undefined {
  const contractId = core.options.contractId;
  if (Address.fromScAddress(key.contract()).toString() !== contractId) return undefined;
  if (key.durability() !== xdr.ContractDataDurability.persistent()) return undefined;
  const state = core.contract.state('committed');
  const scKey = key.key();
  const genesis = 1;
  const found = (val: xdr.ScVal, modified: number): ResolvedEntry => ({
    data: contractData(contractId, scKey, val),
    lastModifiedLedgerSeq: modified,
    liveUntilLedgerSeq: modified + TTL_EXTEND_TO,
  });
  switch (scKey.switch().name) {
    case 'scvLedgerKeyContractInstance':
      return found(instanceVal(core), core.chain.latest.sequence);
    case 'scvAddress': {
      const borrower = Address.fromScAddress(scKey.address()).toString();
      const line = state.lines.get(borrower);
      return line ? found(encode(CREDIT_LINE_DATA, line), state.lastModified.get(borrower) ?? genesis) : undefined;
    }
    case 'scvVec': {
      const [tag, arg] = scKey.vec() ?? [];
      if (!tag || !arg || tag.switch().name !== 'scvSymbol') return undefined;
      const name = tag.sym().toString();
      if (name === 'CreditLineIdByBorrower' && arg.switch().name === 'scvAddress') {
        const borrower = Address.fromScAddress(arg.address()).toString();
        const id = state.idByBorrower.get(borrower);
        return id === undefined ? undefined : found(xdr.ScVal.scvU32(id), state.lastModified.get(borrower) ?? genesis);
      }
      if (name === 'CreditLineBorrowerById' && arg.switch().name === 'scvU32') {
        const borrower = state.borrowerById[arg.u32()];
        return borrower === undefined ? undefined : found(new Address(borrower).toScVal(), state.lastModified.get(borrower) ?? genesis);
      }
      if (name === 'CollateralBalance' && arg.switch().name === 'scvAddress') {
        const balance = state.collateral.get(Address.fromScAddress(arg.address()).toString());
        return balance === undefined ? undefined : found(encode('i128', balance), core.chain.latest.sequence);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

export function resolveLedgerEntry(core: DevnetCore, key: xdr.LedgerKey): ResolvedEntry | undefined {
  switch (key.switch().name) {
    case 'account': {
      const id = StrKey.encodeEd25519PublicKey(key.account().accountId().ed25519());
      const account = core.accounts.get(id);
      return account ? { data: core.accounts.accountEntry(account), lastModifiedLedgerSeq: account.lastModifiedLedger } : undefined;
    }
    case 'trustline': {
      const id = StrKey.encodeEd25519PublicKey(key.trustLine().accountId().ed25519());
      const account = core.accounts.get(id);
      const data = account && core.accounts.trustlineEntry(account, key.trustLine().asset());
      return account && data ? { data, lastModifiedLedgerSeq: account.lastModifiedLedger } : undefined;
    }
    case 'contractData':
      return resolveContractData(core, key.contractData());
    case 'contractCode': {
      if (!key.contractCode().hash().equals(WASM_HASH)) return undefined;
      return {
        data: xdr.LedgerEntryData.contractCode(
          new xdr.ContractCodeEntry({ ext: new xdr.ContractCodeEntryExt(0), hash: WASM_HASH, code: FAKE_WASM }),
        ),
        lastModifiedLedgerSeq: 1,
        liveUntilLedgerSeq: 1 + TTL_EXTEND_TO,
      };
    }
    default:
      return undefined;
  }
}
