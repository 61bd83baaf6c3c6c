import { StrKey } from '@stellar/stellar-sdk';

/** A Stellar account (G...) or contract (C...) address, checksum included. */
export function isStellarAddress(value: string): boolean {
  return StrKey.isValidEd25519PublicKey(value) || StrKey.isValidContract(value);
}

const ADDRESS_IN_TEXT = /\b[GC][A-Z2-7]{55}\b/g;

/** Keeps the first and last 4 characters: enough to recognise an address, not enough to identify it in logs. */
export function maskAddress(address: string): string {
  return `${address.slice(0, 4)}…${address.slice(-4)}`;
}

/** Masks every Stellar address found in a piece of text. */
export function maskAddressesIn(text: string): string {
  return text.replace(ADDRESS_IN_TEXT, maskAddress);
}
