import { crc32 } from '../../src/nn';

/**
 * Rewrites the JSON header of a valid state file (nn.save / optim.save), fixing the header CRC
 * and keeping the payload: a file that passes the checksums but says something else.
 */
export function withHeader(bytes: Buffer, edit: (h: Record<string, unknown>) => void): Buffer {
  const hlen = bytes.readUInt32LE(11);
  const header = JSON.parse(bytes.subarray(23, 23 + hlen).toString('utf8')) as Record<string, unknown>;
  const oldStart = Math.ceil((23 + hlen) / 64) * 64;
  edit(header);
  const hb = Buffer.from(JSON.stringify(header), 'utf8');
  const start = Math.ceil((23 + hb.length) / 64) * 64;
  const out = Buffer.alloc(start + bytes.length - oldStart);
  bytes.copy(out, 0, 0, 23);
  hb.copy(out, 23);
  bytes.copy(out, start, oldStart);
  out.writeUInt32LE(hb.length, 11);
  out.writeUInt32LE(crc32(hb), 15);
  return out;
}
