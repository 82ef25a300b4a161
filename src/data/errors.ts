import { LernenError } from '../tensor/errors';

/** A data file that cannot be used as it is: names the file and the problem. */
export class DataError extends LernenError {
  /** The file's name (basename) the problem is in. */
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.file = file;
  }
}
