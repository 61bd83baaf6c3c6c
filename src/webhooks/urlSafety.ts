import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Webhook URLs must not reach into our own network: loopback, private, link-local (cloud metadata at
 * 169.254.169.254), CGNAT, multicast and unspecified addresses are refused unless private URLs are allowed.
 * The check runs when the URL is saved and again on every connection (in the DNS lookup the HTTP client
 * uses), so a name that later resolves to a private address is refused too.
 */
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/**
 * An IPv4-mapped IPv6 address is judged as the IPv4 address it carries, in both spellings: dotted
 * (::ffff:10.0.0.1, as DNS answers) and hex (::ffff:a00:1, as WHATWG URLs normalise it).
 */
function unmapIpv4(address: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return address;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

export function isPrivateAddress(address: string): boolean {
  const candidate = unmapIpv4(address);
  const family = isIP(candidate);
  if (family === 0) return true;
  return blocked.check(candidate, family === 4 ? 'ipv4' : 'ipv6');
}

export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError';
}

export interface UrlPolicy {
  allowPrivate: boolean;
  requireHttps: boolean;
}

/** Syntax and scheme checks that need no network. */
export function assertUrlShape(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UnsafeUrlError('must use https (or http outside production)');
  if (policy.requireHttps && url.protocol !== 'https:') throw new UnsafeUrlError('must use https in production');
  if (url.username || url.password) throw new UnsafeUrlError('must not contain credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && isPrivateAddress(host)))) {
    throw new UnsafeUrlError('points at a loopback, private, link-local or metadata address');
  }
  return url;
}

/** Resolves the host and refuses when any address it resolves to is private. */
export async function assertUrlResolvesPublic(url: URL, policy: UrlPolicy): Promise<void> {
  if (policy.allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, result) => (error ? reject(new UnsafeUrlError(`host does not resolve (${error.code ?? 'error'})`)) : resolve(result))),
  );
  if (addresses.some((a) => isPrivateAddress(a.address))) throw new UnsafeUrlError('resolves to a loopback, private, link-local or metadata address');
}

/** A `lookup` for http.request that refuses private addresses at connect time (no DNS-rebinding window). */
export function safeLookup(policy: UrlPolicy) {
  return (hostname: string, options: object, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as LookupAddress[];
      if (!policy.allowPrivate && list.some((a) => isPrivateAddress(a.address))) {
        return callback(new UnsafeUrlError('resolves to a private address'), '', 0);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
