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
  private digestsOf: readonly string[] = [];
  private digests: Buffer[] = [];

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
    if (this.fileKeys !== this.combinedFrom) {
      this.combined = [...this.staticKeys, ...this.fileKeys];
      this.combinedFrom = this.fileKeys;
    }
    return this.combined;
  }

  private combined: readonly string[] = [];
  private combinedFrom: readonly string[] | undefined;

  /** Constant-time membership: every key is compared, over fixed-length digests. */
  matches(candidate: string | undefined): boolean {
    if (!candidate) return false;
    const digest = sha256(candidate);
    let found = false;
    for (const keyDigest of this.keyDigests()) {
      if (timingSafeEqual(digest, keyDigest)) found = true;
    }
    return found;
  }

  /** Digests of the current keys, recomputed only when the key set changes (a hot path: every request). */
  private keyDigests(): Buffer[] {
    const keys = this.keys();
    if (keys !== this.digestsOf) {
      this.digests = keys.map(sha256);
      this.digestsOf = keys;
    }
    return this.digests;
  }
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/** A short, stable, non-reversible name for a key: what audit rows and rate limits use. */
export const keyFingerprint = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 12);
