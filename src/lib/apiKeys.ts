import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/**
 * Keys come from the environment (fixed for the life of the process) and optionally from a key
 * file that is re-read whenever it changes, so keys rotate without a restart. The file holds one
 * key per line; blank lines and lines starting with # are ignored.
 */
export class KeyRing {
  private fileKeys: string[] = [];
  private fileStamp = '';

  constructor(
    private readonly staticKeys: readonly string[],
    private readonly file?: string,
  ) {}

  keys(): readonly string[] {
    if (!this.file) return this.staticKeys;
    try {
      const stat = statSync(this.file);
      const stamp = `${stat.mtimeMs}:${stat.size}`;
      if (stamp !== this.fileStamp) {
        this.fileKeys = readFileSync(this.file, 'utf8')
          .split(/\r?\n/)
          .map((line) => line.trim())
          .filter((line) => line.length > 0 && !line.startsWith('#'));
        this.fileStamp = stamp;
      }
    } catch {
      // A missing or unreadable file means no file keys, not the last known ones: revocation must stick.
      this.fileKeys = [];
      this.fileStamp = '';
    }
    return [...this.staticKeys, ...this.fileKeys];
  }

  /** Constant-time membership: every key is compared, over fixed-length digests. */
  matches(candidate: string | undefined): boolean {
    if (!candidate) return false;
    const digest = sha256(candidate);
    let found = false;
    for (const key of this.keys()) {
      if (timingSafeEqual(digest, sha256(key))) found = true;
    }
    return found;
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** A short, stable, non-reversible name for a key: what audit rows and rate limits use. */
export const keyFingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12);
