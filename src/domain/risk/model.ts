import { z } from 'zod';
import { parseAmount } from '../money.js';
import { MAX_INTEREST_RATE_BPS } from '../creditLine.js';
import { SIGNAL_NAMES, type SignalName } from './signals.js';

/**
 * A versioned scoring model: which signals count, how each raw value is normalised to 0..1, how many points it is
 * worth, and the bands that turn a score into a limit and a rate. Models are JSON files in `risk-models/`, checked
 * into the repository; this schema is what a new version must satisfy before the process will boot with it.
 */

const transformSchema = z.discriminatedUnion('kind', [
  /** ln(1 + x) / ln(1 + cap), capped at 1: diminishing returns for counts and amounts. */
  z.strictObject({ kind: z.literal('log'), cap: z.number().positive() }),
  /** x / cap, capped at 1. */
  z.strictObject({ kind: z.literal('linear'), cap: z.number().positive() }),
  /** The value is already a 0..1 ratio. */
  z.strictObject({ kind: z.literal('ratio') }),
  /** How far a 0..1 ratio exceeds a threshold, as a share of the room above it: 0 at or below, 1 at 1. */
  z.strictObject({ kind: z.literal('excess'), threshold: z.number().min(0).lt(1) }),
  /** How far a value falls below a target, as a share of (target - floor): 0 at or above target, 1 at floor. */
  z.strictObject({ kind: z.literal('shortfall'), target: z.number(), floor: z.number() }),
]);

export type Transform = z.infer<typeof transformSchema>;

const signalSchema = z.strictObject({
  name: z.enum(SIGNAL_NAMES),
  /** Positive signals add up to 100 points; penalties take points away. */
  kind: z.enum(['positive', 'penalty']),
  weight: z.number().positive().max(100),
  transform: transformSchema,
  why: z.string().min(1),
});

const bandSchema = z.strictObject({
  name: z.string().min(1),
  minScore: z.number().int().min(0).max(100),
  decision: z.enum(['approve', 'decline']),
  creditLimit: z.string().transform((value, ctx) => {
    try {
      return parseAmount(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  interestRateBps: z.number().int().min(0).max(MAX_INTEREST_RATE_BPS),
});

export const riskModelSchema = z
  .strictObject({
    version: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { error: 'must be a short lowercase identifier' }),
    description: z.string(),
    signals: z.array(signalSchema).min(1),
    bands: z.array(bandSchema).min(1),
  })
  .superRefine((model, ctx) => {
    const positive = model.signals.filter((s) => s.kind === 'positive').reduce((sum, s) => sum + s.weight, 0);
    if (Math.abs(positive - 100) > 1e-9) ctx.addIssue({ code: 'custom', path: ['signals'], message: `positive weights must add up to 100, got ${positive}` });
    const names = model.signals.map((s) => s.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['signals'], message: 'each signal may appear once' });
    for (const [i, s] of model.signals.entries()) {
      if (s.transform.kind === 'shortfall' && s.transform.floor >= s.transform.target) {
        ctx.addIssue({ code: 'custom', path: ['signals', i, 'transform'], message: 'floor must be below target' });
      }
    }
    const bands = [...model.bands].sort((a, b) => b.minScore - a.minScore);
    if (bands.at(-1)?.minScore !== 0) ctx.addIssue({ code: 'custom', path: ['bands'], message: 'one band must start at score 0' });
    for (let i = 1; i < bands.length; i++) {
      const better = bands[i - 1]!;
      const worse = bands[i]!;
      if (better.minScore === worse.minScore) ctx.addIssue({ code: 'custom', path: ['bands'], message: `two bands start at ${worse.minScore}` });
      // Higher score: larger limit and lower rate, never the other way round.
      if (worse.decision === 'approve' && (worse.creditLimit > better.creditLimit || worse.interestRateBps < better.interestRateBps)) {
        ctx.addIssue({ code: 'custom', path: ['bands'], message: `band ${worse.name} offers better terms than the higher band ${better.name}` });
      }
      if (better.decision === 'decline' && worse.decision === 'approve') {
        ctx.addIssue({ code: 'custom', path: ['bands'], message: `band ${better.name} declines while the lower band ${worse.name} approves` });
      }
    }
    for (const band of bands) {
      if (band.decision === 'approve' && band.creditLimit <= 0n) ctx.addIssue({ code: 'custom', path: ['bands'], message: `band ${band.name} approves with no limit` });
    }
  })
  .transform((model) => ({ ...model, bands: [...model.bands].sort((a, b) => b.minScore - a.minScore) }));

export type RiskModel = z.infer<typeof riskModelSchema>;
export type RiskBand = RiskModel['bands'][number];
export type ModelSignal = RiskModel['signals'][number];

/** Parses a model file's JSON; the error names every rule the file breaks. */
export function parseRiskModel(json: unknown): RiskModel {
  const parsed = riskModelSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`Invalid risk model: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export const describeTransform = (t: Transform): string => {
  switch (t.kind) {
    case 'log':
      return `log(1+x)/log(1+${t.cap}), capped at 1`;
    case 'linear':
      return `x/${t.cap}, capped at 1`;
    case 'ratio':
      return 'x (a 0..1 ratio)';
    case 'excess':
      return `(x-${t.threshold})/(1-${t.threshold}) above ${t.threshold}, else 0`;
    case 'shortfall':
      return `(${t.target}-x)/(${t.target}-${t.floor}) below ${t.target}, capped at 1`;
  }
};

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** The documented transforms; every one maps to 0..1 and is non-decreasing in x (shortfall: non-increasing). */
export function normalise(t: Transform, x: number): number {
  if (!Number.isFinite(x)) return t.kind === 'shortfall' ? 0 : 1;
  switch (t.kind) {
    case 'log':
      return clamp01(Math.log1p(Math.max(0, x)) / Math.log1p(t.cap));
    case 'linear':
      return clamp01(x / t.cap);
    case 'ratio':
      return clamp01(x);
    case 'excess':
      return clamp01((x - t.threshold) / (1 - t.threshold));
    case 'shortfall':
      return clamp01((t.target - x) / (t.target - t.floor));
  }
}

export interface SignalContribution {
  /** A model signal; an external provider may name its own factors. */
  name: string;
  kind: 'positive' | 'penalty';
  /** The raw value (null: not applicable, e.g. no transactions to judge, no collateral). */
  value: number | null;
  transform: string;
  normalised: number;
  weight: number;
  /** Points added (positive) or taken away (negative), to 2 decimals. */
  points: number;
  why: string;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * The score: positive points minus penalty points, rounded to an integer and clamped to 0..100. A signal with no
 * value contributes nothing: the absence of evidence neither earns points nor costs them. Nothing here sees the
 * wallet address, so an address cannot be chosen for its score.
 */
export function scoreSignals(model: RiskModel, values: Readonly<Record<SignalName, number | null>>): { score: number; contributions: SignalContribution[] } {
  let total = 0;
  const contributions = model.signals.map((signal): SignalContribution => {
    const value = values[signal.name];
    const normalised = value === null ? 0 : normalise(signal.transform, value);
    const points = (signal.kind === 'positive' ? 1 : -1) * normalised * signal.weight;
    total += points;
    return {
      name: signal.name,
      kind: signal.kind,
      value,
      transform: describeTransform(signal.transform),
      normalised: Math.round(normalised * 10_000) / 10_000,
      weight: signal.weight,
      points: round2(points) || 0,
      why: signal.why,
    };
  });
  return { score: Math.min(100, Math.max(0, Math.round(total))), contributions };
}
