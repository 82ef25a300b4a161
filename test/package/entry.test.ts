/**
 * The package entry (src/index.ts, what `import { nn, optim } from 'lernen'` resolves to): every
 * name issue #3 promises exists there, works, and carries types.
 */
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as lernen from '../../src/index';
import { Tensor, nn, optim } from '../../src/index';
import { BACKEND_NAMES, useBackend } from '../nn/util';

const NN_CLASSES = [
  'Module', 'Linear', 'Conv2d', 'MaxPool2d', 'AvgPool2d', 'Flatten', 'ReLU', 'LeakyReLU', 'Sigmoid', 'Tanh', 'GELU',
  'Softmax', 'LogSoftmax', 'Sequential', 'Dropout', 'BatchNorm1d', 'BatchNorm2d', 'Residual', 'ActivityRegularization',
] as const;
const NN_FUNCTIONS = ['save', 'load'] as const;
const FUNCTIONAL = [
  'crossEntropy', 'nllLoss', 'mseLoss', 'l1Loss', 'smoothL1Loss', 'huberLoss', 'oneHot', 'l1Penalty', 'l2Penalty',
  'relu', 'leakyRelu', 'sigmoid', 'tanh', 'gelu', 'softmax', 'logSoftmax', 'flatten', 'linear', 'conv2d', 'maxPool2d',
  'avgPool2d', 'dropout', 'batchNorm',
] as const;
const INIT = ['kaimingUniform', 'kaimingNormal', 'xavierUniform', 'xavierNormal', 'zeros', 'constant'] as const;
const OPTIM_CLASSES = [
  'Optimizer', 'SGD', 'Adam', 'AdamW', 'RMSprop', 'OnePlusOneES',
  'StepLR', 'ExponentialLR', 'CosineAnnealingLR', 'OneCycleLR', 'ReduceLROnPlateau', 'LinearLR',
] as const;
const OPTIM_FUNCTIONS = ['clipGradNorm', 'save', 'load'] as const;

describe('package entry (src/index.ts)', () => {
  it('exports the nn, nn.functional, nn.init and optim names of issue #3', () => {
    const missing: string[] = [];
    const want = (ns: string, obj: Record<string, unknown>, names: readonly string[], kind: 'class' | 'function') => {
      for (const n of names) {
        const v = obj[n];
        // A class is a function with a prototype whose constructor is itself.
        const ok = typeof v === 'function' && (kind === 'function' || (v as { prototype?: { constructor?: unknown } }).prototype?.constructor === v);
        if (!ok) missing.push(`${ns}.${n} (${typeof v})`);
      }
    };
    want('nn', lernen.nn, NN_CLASSES, 'class');
    want('nn', lernen.nn, NN_FUNCTIONS, 'function');
    want('nn.functional', lernen.nn.functional, FUNCTIONAL, 'function');
    want('nn.init', lernen.nn.init, INIT, 'function');
    want('optim', lernen.optim, OPTIM_CLASSES, 'class');
    want('optim', lernen.optim, OPTIM_FUNCTIONS, 'function');
    expect(missing).toEqual([]);
    // The namespaces are the modules themselves, not copies.
    expect(lernen.Tensor).toBe(Tensor);
    expect(new lernen.nn.Linear(2, 3)).toBeInstanceOf(lernen.nn.Module);
  });

  it('the public names carry types (checked by npm run typecheck; no-ops at run time)', () => {
    expectTypeOf(nn.Linear).toBeConstructibleWith(784, 10);
    expectTypeOf(nn.Linear).toBeConstructibleWith(784, 10, { bias: false });
    expectTypeOf(new nn.Linear(2, 3).weight).toEqualTypeOf<Tensor>();
    expectTypeOf(new nn.Linear(2, 3).bias).toEqualTypeOf<Tensor | null>();
    expectTypeOf(new nn.Sequential().call).returns.toEqualTypeOf<Tensor>();
    expectTypeOf(nn.Module.prototype.stateDict).returns.toEqualTypeOf<Record<string, Tensor>>();
    expectTypeOf(nn.Module.prototype.namedParameters).returns.toEqualTypeOf<Array<[string, Tensor]>>();
    expectTypeOf(nn.functional.crossEntropy).returns.toEqualTypeOf<Tensor>();
    expectTypeOf(nn.functional.smoothL1Loss).parameter(2).toEqualTypeOf<{ beta?: number; reduction?: 'mean' | 'sum' | 'none' } | undefined>();
    expectTypeOf(nn.init.kaimingUniform).returns.toEqualTypeOf<Tensor>();
    expectTypeOf(optim.SGD).toBeConstructibleWith([] as Tensor[]);
    expectTypeOf(optim.SGD).constructorParameters.toEqualTypeOf<[optim.Params<Required<optim.SGDOptions>>, (optim.SGDOptions | undefined)?]>();
    expectTypeOf<optim.SGDOptions['lr']>().toEqualTypeOf<number | undefined>();
    expectTypeOf(optim.clipGradNorm).returns.toEqualTypeOf<number>();
    expectTypeOf(optim.Adam.prototype.stateDict).returns.toEqualTypeOf<optim.OptimizerStateDict>();
    expectTypeOf<InstanceType<typeof optim.OneCycleLR>>().toMatchTypeOf<optim.LRScheduler>();
  });

  it('a strict compile of a user script against the entry: no errors, and every deliberate misuse is one', () => {
    // test/package/fixtures/public-api.ts is the user script; its @ts-expect-error lines fail the
    // compile (TS2578) if a name is `any`. The virtual file below must produce exactly its errors.
    const fixture = path.join(__dirname, 'fixtures', 'public-api.ts');
    const probe = path.join(__dirname, 'fixtures', 'probe.ts');
    const probeText = [
      "import { nn, optim } from '../../../src/index';",
      'const a: string = new nn.Linear(1, 1);', // TS2322: a Linear is not a string
      'new optim.SGD([], { lr: true });', // TS2322: lr is a number
      'nn.functional.nllLoss();', // TS2554: arguments are required
      'export {};',
    ].join('\n');
    const options: ts.CompilerOptions = {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10, types: ['node'], skipLibCheck: true, esModuleInterop: true,
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    host.getSourceFile = (name, lang, ...rest) => (path.resolve(name) === probe ? ts.createSourceFile(name, probeText, lang) : getSourceFile(name, lang, ...rest));
    host.fileExists = (name) => path.resolve(name) === probe || fileExists(name);
    const program = ts.createProgram([fixture, probe], options, host);
    const diagnostics = (file: string) => {
      const sf = program.getSourceFile(file);
      expect(sf, file).toBeDefined();
      return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]
        .map((d) => `${d.start === undefined ? '?' : sf!.getLineAndCharacterOfPosition(d.start).line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    };
    expect(program.getOptionsDiagnostics()).toEqual([]);
    expect(diagnostics(fixture)).toEqual([]);
    expect(diagnostics(probe).map((d) => d.split(' ')[0] + ' ' + d.split(' ')[1])).toEqual(['2: TS2322', '3: TS2322', '4: TS2554']);
  });
});

describe.each(BACKEND_NAMES)('the entry\'s names on %s', (name) => {
  const on = useBackend(name);

  it('the MNIST example written with them trains: one step lowers the loss on a fixed batch', on(() => {
    lernen.manualSeed(1);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 3 * 3, 10), new nn.LogSoftmax(1),
    );
    const x = lernen.randn([8, 1, 8, 8]);
    const y = Int32Array.from({ length: 8 }, (_, i) => i % 10);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const lossOf = () => nn.functional.nllLoss(model.call(x), y);
    const first = lossOf();
    opt.zeroGrad();
    first.backward();
    expect(optim.clipGradNorm(model.parameters(), 10)).toBeGreaterThan(0);
    opt.step();
    expect(lossOf().item()).toBeLessThan(first.item());
  }));
});
