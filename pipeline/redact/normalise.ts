/**
 * Puts a transcript into the form the detectors read, and remembers where
 * every character came from: each character is NFKC-normalised on its own
 * (full-width "４１１１" becomes "4111", a non-breaking hyphen a hyphen) and
 * zero-width and invisible formatting characters are dropped ("4111\u200B1111"
 * is one group of digits). A span found in the normalised text maps back to
 * the original characters with `toOriginal`, so the redaction covers the
 * invisible characters inside it too. Plain ASCII is passed through untouched.
 */

/** Characters that render as nothing and would otherwise split a number in two. */
const INVISIBLE = new Set([0x00ad, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff]);

export interface NormalisedText {
  text: string;
  /** Maps a half-open span of `text` to the original text's offsets. */
  toOriginal(start: number, end: number): { start: number; end: number };
}

const identity = (text: string): NormalisedText => ({ text, toOriginal: (start, end) => ({ start, end }) });

export function normalise(original: string): NormalisedText {
  let ascii = true;
  for (let i = 0; i < original.length; i++) if (original.charCodeAt(i) > 127) { ascii = false; break; }
  if (ascii) return identity(original);
  let text = '';
  // from[k] / to[k]: the original code point that produced text[k]
  const from: number[] = [];
  const to: number[] = [];
  let i = 0;
  while (i < original.length) {
    const cp = original.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (!INVISIBLE.has(cp)) {
      const ch = original.slice(i, i + width);
      const norm = cp < 128 ? ch : ch.normalize('NFKC');
      for (let k = 0; k < norm.length; k++) { from.push(i); to.push(i + width); }
      text += norm;
    }
    i += width;
  }
  if (text === original) return identity(original);
  return {
    text,
    toOriginal: (start, end) => ({
      start: start < from.length ? from[start]! : original.length,
      end: end > 0 ? to[end - 1]! : 0,
    }),
  };
}
