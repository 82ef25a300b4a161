import { describe, expect, it } from 'vitest';
import * as search from '../../src/search';
import { Space, choice, grid, intUniform, logUniform, uniform } from '../../src/search/space';
import { checkMnistSpace } from '../../src/search/mnist';

const COURSE = { lr: [0.001, 0.01, 0.1], batchSize: [32, 64, 128], dropout: [0, 0.1, 0.3, 0.5], loss: ['mse', 'l1', 'cross-entropy'], optimizer: ['sgd', 'adam'] };

describe('search spaces', () => {
  it("expresses the course's example space as is (plain arrays are grids)", () => {
    const s = Space.from(COURSE);
    expect(s.names).toEqual(['lr', 'batchSize', 'dropout', 'loss', 'optimizer']);
    expect(s.gridSize()).toBe(3 * 3 * 4 * 3 * 2);
    expect(s.get('loss')).toEqual({ kind: 'grid', values: ['mse', 'l1', 'cross-entropy'] });
    expect(() => checkMnistSpace(s)).not.toThrow();
    // The same from JSON text.
    expect(Space.from(JSON.stringify(COURSE)).canonical()).toBe(s.canonical());
  });

  it('parses the JSON forms of every distribution and fixed values', () => {
    const s = Space.from({ lr: { logUniform: [1e-4, 1e-1] }, m: { uniform: [0, 0.99] }, e: { intUniform: [1, 5] }, o: { choice: ['sgd', 'adam'] }, g: { grid: [1, 2] }, fixed: 3 });
    expect(s.get('lr')).toMatchObject({ kind: 'logUniform', low: 1e-4, high: 0.1 });
    expect(s.get('m')).toMatchObject({ kind: 'uniform', low: 0, high: 0.99 });
    expect(s.get('e')).toMatchObject({ kind: 'intUniform', low: 1, high: 5 });
    expect(s.get('o')).toMatchObject({ kind: 'choice', values: ['sgd', 'adam'] });
    expect(s.get('fixed')).toMatchObject({ kind: 'grid', values: [3] });
    expect(Space.from(s.toJSON() as search.SpaceInput).canonical()).toBe(s.canonical());
    expect(s.gridSize()).toBeNull();
  });

  it('builds spaces in code, with functions in a choice stored by name', () => {
    function huber() { return 0; }
    function hinge() { return 1; }
    const s = Space.from({ lr: logUniform(1e-3, 1), k: intUniform(1, 3), loss: choice([huber, hinge, 'mse']), b: grid([1, 2]), u: uniform(-1, 1) });
    expect(s.toJSON().loss).toEqual({ choice: ['huber', 'hinge', 'mse'] });
    expect(s.resolve({ loss: 'hinge', lr: 0.1 })).toEqual({ loss: hinge, lr: 0.1 });
    expect(s.gridValues('k')).toEqual([1, 2, 3]);
    expect(() => Space.from({ f: choice([() => 1]) })).toThrow(/anonymous function/);
  });

  it('enumerates grid points in a fixed order (first parameter slowest) and maps them back', () => {
    const s = Space.from({ a: [1, 2, 3], b: ['x', 'y'] });
    const pts = Array.from({ length: 6 }, (_, i) => s.gridPoint(i));
    expect(pts).toEqual([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }, { a: 3, b: 'x' }, { a: 3, b: 'y' }]);
    pts.forEach((p, i) => expect(s.gridIndex(p)).toBe(i));
    expect(s.gridIndex({ a: 4, b: 'x' })).toBe(-1);
  });

  it.each([
    [{}, /no parameters/],
    [{ lr: [] }, /parameter 'lr': grid has no values/],
    [{ lr: { grid: [] } }, /parameter 'lr': grid has no values/],
    [{ o: { choice: [] } }, /parameter 'o': choice has no values/],
    [{ lr: { uniform: [0.1, 0.01] } }, /parameter 'lr': uniform\(a, b\) needs a < b, got \(0.1, 0.01\)/],
    [{ lr: { uniform: [1, 1] } }, /needs a < b/],
    [{ lr: { logUniform: [0, 0.1] } }, /parameter 'lr': logUniform\(a, b\) needs 0 < a, got a = 0/],
    [{ lr: { logUniform: [-1, 0.1] } }, /needs 0 < a/],
    [{ e: { intUniform: [1.5, 3] } }, /intUniform\(a, b\) needs integers/],
    [{ e: { intUniform: [3, 1] } }, /needs a < b/],
    [{ lr: { uniform: [0, 'x'] } }, /needs finite numbers/],
    [{ lr: { normal: [0, 1] } }, /parameter 'lr': expected one of/],
    [{ lr: { uniform: [0, 1], log: true } }, /expected one of/],
    [{ lr: [1, 1] }, /lists 1 twice/],
    [{ lr: [Infinity] }, /not a finite number/],
    [{ lr: [[1]] }, /values must be numbers, strings, booleans, null or named functions/],
    [{ 'bad name': [1] }, /parameter name "bad name"/],
    ['{"lr": [1,', /not valid JSON/],
    [[1, 2], /expected an object of parameters/],
  ])('rejects a bad space %j with a clear error', (space, msg) => {
    expect(() => Space.from(space as never)).toThrow(msg);
    expect(() => search.study({ name: 'bad', storage: 'memory', space: space as never })).toThrow(msg);
  });

  it.each([
    [{ optimizer: ['sgd', 'adamax'] }, /unknown optimizer "adamax" \(expected one of sgd, adam, adamw, rmsprop\)/],
    [{ loss: ['cross-entropy', 'hinge'] }, /unknown loss "hinge"/],
    [{ lrate: [0.1] }, /unknown parameter 'lrate' for the mnist objective/],
    [{ batchSize: [32, 0] }, /batchSize value 0 must be an integer in \[1, 65536\]/],
    [{ batchSize: { uniform: [16, 64] } }, /batchSize must be an integer; use intUniform/],
    [{ dropout: [0, 1] }, /dropout value 1 must be \[0, 1\)/],
    [{ lr: { uniform: [0, 0.1] } }, /lr uniform\(0, 0.1\) must lie in \(0, 100\]/],
    [{ optimizer: { uniform: [0, 1] } }, /optimizer is a name/],
  ])('the mnist objective rejects %j before any trial starts', (space, msg) => {
    expect(() => checkMnistSpace(Space.from(space))).toThrow(msg);
  });

  it('the grid sampler refuses continuous parameters', () => {
    expect(() => search.study({ name: 'g', storage: 'memory', space: { lr: logUniform(1e-3, 1) }, sampler: 'grid' })).toThrow(/grid sampler: parameter 'lr' is logUniform/);
  });
});
