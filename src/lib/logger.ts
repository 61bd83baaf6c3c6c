import { pino, type Logger } from 'pino';
import { maskAddressesIn } from '../domain/stellarAddress.js';

export type { Logger };

/** Header and field names whose values never reach a log line. */
const SECRET_KEYS = /^(x-api-key|x-admin-api-key|authorization|cookie|set-cookie|password|secret|token|apikey|api_key|idempotency-key)$/i;

/** Walks a log record: secrets become "[redacted]" and Stellar addresses are masked wherever they appear. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskAddressesIn(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: maskAddressesIn(value.message), stack: value.stack && maskAddressesIn(value.stack) };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) || /secret/i.test(key) ? '[redacted]' : redact(item, depth + 1);
  }
  return out;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'creditra-backend' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (record) => redact(record) as Record<string, unknown>,
      },
      hooks: {
        // Masks addresses in the message text itself, not only in the structured fields.
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? maskAddressesIn(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
