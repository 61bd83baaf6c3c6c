import { ValidationError } from '../domain/errors.js';

/** Opaque pagination cursors: base64url JSON, so clients cannot build one by hand by accident. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (isValid(value)) return value;
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError([{ field: 'cursor', rule: 'valid_cursor', message: 'is not a cursor returned by this API' }]);
}

export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

const isSeqCursor = (value: unknown): value is { seq: string } =>
  typeof value === 'object' && value !== null && /^\d+$/.test(String((value as { seq?: unknown }).seq));

/** Keyset paging over an append-only sequence (newest first): fetches one extra row to know if more exist. */
export async function pageBySeq<T extends { seq: bigint }>(
  request: PageRequest,
  fetch: (page: { limit: number; after?: bigint }) => Promise<T[]>,
): Promise<PageResult<T>> {
  const after = request.cursor ? BigInt(decodeCursor(request.cursor, isSeqCursor).seq) : undefined;
  const rows = await fetch({ limit: request.limit + 1, after });
  const items = rows.slice(0, request.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > request.limit && last ? encodeCursor({ seq: last.seq.toString() }) : null };
}

const isTimeCursor = (value: unknown): value is { at: string; id: string } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { at?: unknown }).at === 'string' &&
  !Number.isNaN(Date.parse((value as { at: string }).at)) &&
  typeof (value as { id?: unknown }).id === 'string';

/**
 * Keyset paging newest first over (a timestamp, an id), the id breaking ties: fetches one extra row to know if more
 * exist. `keyOf` names the item's timestamp and id; `fetch` gets the last seen key, if any.
 */
export async function pageByTime<T>(
  request: PageRequest,
  keyOf: (item: T) => { at: Date; id: string },
  fetch: (page: { limit: number; after?: { at: Date; id: string } }) => Promise<T[]>,
): Promise<PageResult<T>> {
  const cursor = request.cursor ? decodeCursor(request.cursor, isTimeCursor) : undefined;
  const rows = await fetch({ limit: request.limit + 1, after: cursor && { at: new Date(cursor.at), id: cursor.id } });
  const items = rows.slice(0, request.limit);
  const last = items.at(-1);
  if (rows.length <= request.limit || !last) return { items, nextCursor: null };
  const key = keyOf(last);
  return { items, nextCursor: encodeCursor({ at: key.at.toISOString(), id: key.id }) };
}
