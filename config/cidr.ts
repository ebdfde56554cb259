/** IPv4 CIDR parsing for environment validation (no dependency on AWS or CDK). */
import { isIPv4 } from 'node:net';

/** A parsed IPv4 block: network address as an unsigned 32-bit integer and prefix length. */
export interface Ipv4Block {
  readonly network: number;
  readonly prefix: number;
}

/**
 * Parses `a.b.c.d/n`. Returns a reason string instead of a block when the text is not a canonical CIDR
 * (bad address, prefix outside 0..32, or host bits set).
 */
export function parseIpv4Cidr(text: string): Ipv4Block | string {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1])) return 'is not an IPv4 CIDR such as 10.0.0.0/16';
  const prefix = Number(match[2]);
  if (prefix > 32) return 'has a prefix length above 32';
  const address = match[1].split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return 'has host bits set (not a network address)';
  return { network: address, prefix };
}

/** True when two blocks share at least one address. */
export function cidrsOverlap(a: Ipv4Block, b: Ipv4Block): boolean {
  const aEnd = a.network + 2 ** (32 - a.prefix);
  const bEnd = b.network + 2 ** (32 - b.prefix);
  return a.network < bEnd && b.network < aEnd;
}
