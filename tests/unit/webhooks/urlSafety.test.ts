import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { assertUrlResolvesPublic, assertUrlShape, isPrivateAddress, safeLookup, UnsafeUrlError, type UrlPolicy } from '../../../src/webhooks/urlSafety.js';

/**
 * SSRF guard for webhook URLs. Only IP literals are used where a lookup happens: Node answers those without
 * asking DNS, so these tests make no network traffic at all.
 */

const development: UrlPolicy = { allowPrivate: false, requireHttps: false };
const production: UrlPolicy = { allowPrivate: false, requireHttps: true };
const permissive: UrlPolicy = { allowPrivate: true, requireHttps: false };

describe('assertUrlShape', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://127.0.0.1:8080/hook',
    'https://127.1.2.3/',
    'http://localhost/hook',
    'http://localhost:3000/hook',
    'http://LOCALHOST/hook',
    'http://api.localhost/hook',
    'http://10.0.0.1/',
    'http://10.255.255.255/',
    'http://172.16.0.1/',
    'http://172.31.255.254/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://[::1]/',
    'http://[::1]:8080/hook',
    'http://[::]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    // alternative spellings of loopback that the URL parser normalises to 127.0.0.1
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
  ])('refuses %s', (url) => {
    expect(() => assertUrlShape(url, development)).toThrow(UnsafeUrlError);
    expect(() => assertUrlShape(url, production)).toThrow(UnsafeUrlError);
  });

  it('names what is wrong', () => {
    expect(() => assertUrlShape('http://169.254.169.254/', development)).toThrow(/loopback, private, link-local or metadata/);
    expect(() => assertUrlShape('not a url', development)).toThrow('is not a valid URL');
    expect(() => assertUrlShape('ftp://93.184.216.34/', development)).toThrow(/must use https/);
    expect(() => assertUrlShape('https://user:pass@93.184.216.34/', development)).toThrow('must not contain credentials');
  });

  it.each(['', 'not a url', '/relative/path', 'ftp://93.184.216.34/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'https://user:secret@93.184.216.34/', 'https://user@93.184.216.34/'])(
    'refuses the malformed or unsupported %j',
    (url) => {
      expect(() => assertUrlShape(url, permissive)).toThrow(UnsafeUrlError);
    },
  );

  it('refuses plain http in production (requireHttps), and allows it outside production', () => {
    expect(() => assertUrlShape('http://93.184.216.34/hook', production)).toThrow('must use https in production');
    expect(assertUrlShape('http://93.184.216.34/hook', development).href).toBe('http://93.184.216.34/hook');
  });

  it.each(['https://93.184.216.34/hook', 'https://93.184.216.34:8443/hooks/creditra?x=1', 'https://8.8.8.8/', 'https://[2606:2800:220:1:248:1893:25c8:1946]/hook', 'https://172.32.0.1/', 'https://192.169.0.1/', 'https://[::ffff:93.184.216.34]/hook'])(
    'lets the public %s through in production',
    (url) => {
      const parsed = assertUrlShape(url, production);
      expect(parsed).toBeInstanceOf(URL);
      expect(parsed.protocol).toBe('https:');
    },
  );

  it('lets a public host name through without resolving it (resolution is a separate step)', () => {
    expect(assertUrlShape('https://hooks.example.com/creditra', production).hostname).toBe('hooks.example.com');
  });

  it('lets private addresses through when WEBHOOK_ALLOW_PRIVATE_URLS is on (development and tests)', () => {
    for (const url of ['http://127.0.0.1:4000/hook', 'http://localhost/hook', 'http://10.0.0.1/', 'http://[::1]/']) {
      expect(assertUrlShape(url, permissive)).toBeInstanceOf(URL);
    }
  });
});

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.255',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.0.1',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '198.18.0.1',
    '224.0.0.251',
    '255.255.255.255',
    '::1',
    '::',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '::ffff:10.0.0.1',
    '::ffff:a00:1',
    '::ffff:7f00:1',
    '::FFFF:A9FE:A9FE',
    'not-an-ip',
  ])('%s is private (or not an address)', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:93.184.216.34', '::ffff:5db8:d822'])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});

describe('assertUrlResolvesPublic (IP literals only: no DNS traffic)', () => {
  it('refuses a private literal and accepts a public one', async () => {
    await expect(assertUrlResolvesPublic(new URL('http://127.0.0.1:9/'), development)).rejects.toThrow(UnsafeUrlError);
    await expect(assertUrlResolvesPublic(new URL('http://[::1]:9/'), development)).rejects.toThrow(UnsafeUrlError);
    await expect(assertUrlResolvesPublic(new URL('https://93.184.216.34/'), production)).resolves.toBeUndefined();
  });

  it('does not look anything up when private URLs are allowed', async () => {
    await expect(assertUrlResolvesPublic(new URL('http://127.0.0.1/'), permissive)).resolves.toBeUndefined();
  });
});

describe('safeLookup (the connect-time check)', () => {
  const lookup = (policy: UrlPolicy, host: string, options: object = {}) =>
    new Promise<{ error: Error | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
      safeLookup(policy)(host, options, (error, address, family) => resolve({ error, address, family })),
    );

  it('refuses a host that resolves to a private address', async () => {
    const result = await lookup(development, '127.0.0.1');
    expect(result.error).toBeInstanceOf(UnsafeUrlError);
    expect((await lookup(development, '169.254.169.254')).error).toBeInstanceOf(UnsafeUrlError);
  });

  it('passes a public address through, in both the single and the `all` form', async () => {
    expect(await lookup(development, '93.184.216.34')).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    const all = await lookup(development, '93.184.216.34', { all: true });
    expect(all.error).toBeNull();
    expect(all.address).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('passes private addresses when allowed', async () => {
    expect(await lookup(permissive, '127.0.0.1')).toEqual({ error: null, address: '127.0.0.1', family: 4 });
  });
});
