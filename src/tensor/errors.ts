/** Base class of every error lernen throws on purpose. */
export class LernenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the operation (names the op and the shapes). */
export class ShapeError extends LernenError {}

/** A value outside its allowed range or of the wrong type. */
export class ValueError extends LernenError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A value from a file, quoted for an error message: JSON, cut to about 100 characters (a hostile
 * file must not turn one error into a 100,000-character message).
 */
export function quote(v: unknown): string {
  let s: string;
  // Numbers as written (JSON would print NaN and ±Infinity as null).
  if (typeof v === 'number') return String(v);
  try { s = JSON.stringify(v) ?? String(v); } catch { s = Object.prototype.toString.call(v); }
  return s.length > 120 ? `${s.slice(0, 100)}… (${s.length} characters)` : s;
}

/** Up to `max` quoted keys, then how many more: `"a", "b", … and 4,990 more`. */
export function quoteList(keys: readonly string[], max = 10): string {
  const shown = keys.slice(0, max).map(quote).join(', ');
  return keys.length > max ? `${shown}, … and ${(keys.length - max).toLocaleString('en-US')} more` : shown;
}
