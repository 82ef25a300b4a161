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
