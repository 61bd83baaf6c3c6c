import autocannon from 'autocannon';
import { withTimeout } from './processes.js';

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  requests: autocannon.RequestSpec[];
  headers?: Record<string, string>;
}

export interface Measurement {
  /** Mean of the per-second request counts autocannon samples (completed responses, any status). */
  reqPerSecAvg: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  totalRequests: number;
  /** Requests written to the sockets; those above totalRequests were in flight when the run stopped (or timed out). */
  sent: number;
  /** Socket errors, including timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  durationSeconds: number;
}

/** One autocannon run in this process, bounded: it is stopped if it outlives its duration by 30 s. */
export async function runLoad(options: LoadOptions): Promise<Measurement> {
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: 10,
        headers: options.headers,
        requests: options.requests,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
  let result: autocannon.Result;
  try {
    result = await withTimeout(done, (options.durationSeconds + 30) * 1000, 'autocannon run');
  } catch (error) {
    instance?.stop();
    throw error;
  }
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  return {
    reqPerSecAvg: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    totalRequests: result.requests.total,
    sent: result.requests.sent ?? result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    durationSeconds: result.duration,
  };
}

/** Cycles through `paths` (one per request), so reads hit many rows rather than one cached one. */
export function rotatingPaths(paths: readonly string[]): autocannon.RequestSpec['setupRequest'] {
  let next = 0;
  return (request) => {
    request.path = paths[next++ % paths.length]!;
    return request;
  };
}
