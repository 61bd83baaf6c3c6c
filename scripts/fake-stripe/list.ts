import { onlyOneOf, resourceMissing } from './errors.js';
import type { FormObject } from './form.js';
import { integer, string } from './params.js';

/**
 * Stripe's list objects and cursor pagination: newest first (by `created`, then by creation order),
 * `limit` 1–100 (default 10), `starting_after` = the next older page, `ending_before` = the next newer page
 * (still returned newest first; stripe-node's auto-pagination walks it backwards). Filters apply after the
 * cursor is placed, so a cursor need not match the filters itself.
 */

export interface ApiList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export interface ListQuery {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

export const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'expand'] as const;

export function readListQuery(params: FormObject): ListQuery {
  const limit = integer(params.limit, 'limit', { min: 1, max: 100 }) ?? 10;
  const startingAfter = string(params.starting_after, 'starting_after') ?? undefined;
  const endingBefore = string(params.ending_before, 'ending_before') ?? undefined;
  if (startingAfter && endingBefore) throw onlyOneOf('ending_before', 'starting_after');
  return { limit, startingAfter, endingBefore };
}

export function paginate<T extends { id: string; created: number }>(
  items: readonly T[],
  query: ListQuery,
  url: string,
  kind: string,
  keep: (item: T) => boolean = () => true,
): ApiList<T> {
  const newestFirst = items
    .map((item, order) => ({ item, order }))
    .sort((a, b) => b.item.created - a.item.created || b.order - a.order)
    .map(({ item }) => item);

  const cursorAt = (id: string, param: string) => {
    const at = newestFirst.findIndex((item) => item.id === id);
    if (at < 0) throw resourceMissing(kind, id, param);
    return at;
  };

  let data: T[];
  let hasMore: boolean;
  if (query.endingBefore !== undefined) {
    const newer = newestFirst.slice(0, cursorAt(query.endingBefore, 'ending_before')).filter(keep);
    data = newer.slice(Math.max(0, newer.length - query.limit));
    hasMore = newer.length > query.limit;
  } else {
    const start = query.startingAfter === undefined ? 0 : cursorAt(query.startingAfter, 'starting_after') + 1;
    const older = newestFirst.slice(start).filter(keep);
    data = older.slice(0, query.limit);
    hasMore = older.length > query.limit;
  }
  return { object: 'list', data, has_more: hasMore, url };
}
