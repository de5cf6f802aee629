// Logo checks: the image type comes from the bytes, and size and dimensions are limited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLogo } from '../src/shared/images.ts';
import { png, dataUrl } from './helpers/png.ts';

const gif = (w: number, h: number) => {
  const b = Buffer.alloc(13);
  b.write('GIF89a', 0, 'latin1');
  b.writeUInt16LE(w, 6);
  b.writeUInt16LE(h, 8);
  return b;
};
function jpeg(w: number, h: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, h >> 8, h & 255, w >> 8, w & 255, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
}

test('PNG, GIF and JPEG logos within the limits are accepted, typed by their bytes', () => {
  assert.equal(checkLogo(dataUrl(png(200, 150))), dataUrl(png(200, 150)));
  assert.equal(checkLogo(dataUrl(gif(80, 40), 'image/png')), dataUrl(gif(80, 40), 'image/gif'), 'the declared type is not trusted');
  assert.equal(checkLogo(dataUrl(jpeg(120, 90), 'image/jpeg')), dataUrl(jpeg(120, 90), 'image/jpeg'));
});

test('logos too large, too big in pixels, of another format or not a data URL are refused with a message saying why', () => {
  assert.throws(() => checkLogo(dataUrl(png(10, 10, 251 * 1024))), /at most 250 KB/);
  assert.throws(() => checkLogo(dataUrl(jpeg(201, 100), 'image/jpeg')), /201 x 100 pixels/);
  assert.throws(() => checkLogo(dataUrl(gif(100, 151), 'image/gif')), /100 x 151 pixels/);
  assert.throws(() => checkLogo(dataUrl(Buffer.from('RIFF....WEBPVP8 '), 'image/webp')), /PNG, GIF or JPG/);
  assert.throws(() => checkLogo('https://example.com/logo.png'), /data: URL/);
});
