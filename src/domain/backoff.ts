/** Parses "5s,5m,30m,2h" into milliseconds. */
export function parseDurations(text: string): number[] {
  return text.split(',').map((part) => {
    const match = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(part);
    if (!match) throw new Error(`"${part.trim()}" is not a duration such as 500ms, 5s, 5m, 2h or 1d`);
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return Number(match[1]) * unit;
  });
}

/**
 * The delay before retry number `retry` (1-based) from a schedule, with +-10% jitter so that endpoints
 * that failed together do not retry together. `undefined` once the schedule is exhausted.
 */
export function retryDelay(schedule: readonly number[], retry: number, random: () => number = Math.random): number | undefined {
  const base = schedule[retry - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (0.9 + 0.2 * random()));
}
