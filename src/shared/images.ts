// Logos people upload (app logos; the sign-in page's branding logo uses the same rules): PNG,
// GIF or JPEG only, checked by their bytes, never by the name or declared type, with limits
// on size and dimensions. Kept as data: URLs, which the pages' CSP allows and nothing else.
import { invalid } from './errors.ts';

export const LOGO_LIMITS = { maxBytes: 250 * 1024, maxWidth: 200, maxHeight: 150 };

type Kind = 'image/png' | 'image/gif' | 'image/jpeg';

function dimensions(b: Buffer): { kind: Kind; width: number; height: number } | undefined {
  if (b.length >= 24 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && b.toString('latin1', 12, 16) === 'IHDR') {
    return { kind: 'image/png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 10 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return { kind: 'image/gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // Walk the JPEG segments to the frame header (SOFn), which holds the dimensions.
    for (let i = 2; i + 9 < b.length; ) {
      if (b[i] !== 0xff) return undefined;
      const marker = b[i + 1]!;
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        i += 2;
        continue;
      }
      const len = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
        return { kind: 'image/jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return undefined;
}

/** Check a logo given as a data: URL (base64); returns it normalised, or refuses with a clear message. */
export function checkLogo(dataUrl: string, limits = LOGO_LIMITS): string {
  const m = /^data:([a-z/+.-]+);base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl);
  if (!m) throw invalid('The logo must be an image given as a data: URL (data:image/png;base64,...).');
  const bytes = Buffer.from(m[2]!, 'base64');
  if (bytes.length > limits.maxBytes)
    throw invalid(`The logo is ${Math.ceil(bytes.length / 1024)} KB; it may be at most ${limits.maxBytes / 1024} KB. Use a smaller image.`);
  const d = dimensions(bytes);
  if (!d) throw invalid('The logo must be a PNG, GIF or JPG image. Other formats (SVG, WebP, ...) are not accepted.');
  if (d.width > limits.maxWidth || d.height > limits.maxHeight)
    throw invalid(`The logo is ${d.width} x ${d.height} pixels; it may be at most ${limits.maxWidth} x ${limits.maxHeight}. Resize it and try again.`);
  return `data:${d.kind};base64,${bytes.toString('base64')}`;
}
