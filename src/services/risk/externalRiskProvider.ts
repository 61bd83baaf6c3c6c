import { z } from 'zod';
import { BadGatewayError, GatewayTimeoutError } from '../../domain/errors.js';
import type { SignalContribution } from '../../domain/risk/model.js';
import type { RiskAssessment, RiskProvider } from './riskProvider.js';

export interface ExternalProviderSettings {
  url: string;
  token?: string;
  timeoutMs: number;
}

const responseSchema = z.object({
  score: z.number().int().min(0).max(100),
  modelVersion: z.string().min(1).max(64).optional(),
  factors: z
    .array(
      z.object({
        name: z.string().min(1).max(64),
        value: z.number().nullable().optional(),
        points: z.number().optional(),
        description: z.string().max(500).optional(),
      }),
    )
    .max(100)
    .optional(),
});

/**
 * A scoring service over HTTP: POST {walletAddress} with a bearer token, answer validated. It failing, timing out
 * or answering something unusable is a 502/504 for the caller, never a made-up score.
 */
export class ExternalRiskProvider implements RiskProvider {
  readonly name = 'external';
  constructor(private readonly settings: ExternalProviderSettings) {}

  async assess(walletAddress: string): Promise<RiskAssessment> {
    let response: Response;
    try {
      response = await fetch(this.settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.settings.token && { authorization: `Bearer ${this.settings.token}` }),
        },
        body: JSON.stringify({ walletAddress }),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new GatewayTimeoutError('risk_provider_timeout', `The risk provider did not answer within ${this.settings.timeoutMs} ms`);
      }
      throw new BadGatewayError('risk_provider_unreachable', 'The risk provider could not be reached');
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new BadGatewayError('risk_provider_error', `The risk provider answered ${response.status}`, { providerStatus: response.status });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new GatewayTimeoutError('risk_provider_timeout', `The risk provider did not answer within ${this.settings.timeoutMs} ms`);
      }
      throw new BadGatewayError('risk_provider_invalid_response', 'The risk provider answered with something that is not JSON');
    }
    const parsed = responseSchema.safeParse(body);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', message: i.message }));
      throw new BadGatewayError('risk_provider_invalid_response', `The risk provider's answer is invalid: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, problems);
    }
    const { score, modelVersion, factors = [] } = parsed.data;
    const signals: SignalContribution[] = factors.map((f) => ({
      name: f.name,
      kind: (f.points ?? 0) < 0 ? 'penalty' : 'positive',
      value: f.value ?? null,
      transform: 'provided by the external provider',
      normalised: 0,
      weight: 0,
      points: f.points ?? 0,
      why: f.description ?? '',
    }));
    return { provider: this.name, modelVersion: modelVersion ?? 'external', score, signals, inputs: { external: { score, modelVersion: modelVersion ?? null } } };
  }
}
