/**
 * tslab compiles notebooks with its bundled TypeScript 5.0.4, against the built package (dist/*.d.ts).
 * Newer compilers can emit declarations that 5.0 rejects (e.g. `Float32Array<ArrayBuffer>`), which
 * would fail every notebook cell that imports the package. Compile a consumer with 5.0.4 and full
 * library checking.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The npm alias "typescript-5.0" pins typescript@5.0.4.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ts50 = require('typescript-5.0') as typeof import('typescript');

const root = path.join(__dirname, '..', '..');

/** Type-checks `source` (a consumer file) with TS 5.0.4 and returns the diagnostics in our own files. */
function checkWith50(source: string, extraFiles: Record<string, string> = {}): { ours: string[]; checkedDist: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longlora-dts-'));
  try {
    const file = path.join(dir, 'consumer.ts');
    fs.writeFileSync(file, source);
    for (const [name, text] of Object.entries(extraFiles)) fs.writeFileSync(path.join(dir, name), text);
    // every declaration we ship is a root, so internal modules no export refers to are checked too
    const shippedDts = (fs.readdirSync(path.join(root, 'dist'), { recursive: true } as never) as unknown as string[])
      .map(String)
      .filter((f) => f.endsWith('.d.ts'))
      .map((f) => path.join(root, 'dist', f));
    const program = ts50.createProgram([file, ...shippedDts], {
      strict: true,
      noEmit: true,
      skipLibCheck: false, // check every declaration file, ours included
      module: ts50.ModuleKind.CommonJS,
      moduleResolution: ts50.ModuleResolutionKind.NodeJs,
      target: ts50.ScriptTarget.ES2020,
      lib: ['lib.es2020.d.ts'],
      esModuleInterop: true,
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      baseUrl: dir,
      paths: { 'longlora-ts': [path.join(root, 'dist', 'index.d.ts')], '*': [path.join(root, 'node_modules', '*')] },
    });
    const distDir = path.join(root, 'dist') + path.sep;
    // Third-party declarations (tfjs-layers under strict, @webgpu/types without the DOM lib) have
    // errors of their own that tslab hides with skipLibCheck; only ours and the consumer count.
    const ours = ts50
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || d.file.fileName.startsWith(distDir) || d.file.fileName.startsWith(dir))
      .map((d) => {
        const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
        return `${where} ${ts50.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    const checkedDist = program.getSourceFiles().filter((f) => f.fileName.startsWith(distDir)).length;
    return { ours, checkedDist };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('dist/index.d.ts under TypeScript 5.0.4', () => {
  it('is the compiler tslab bundles', () => {
    expect(ts50.version).toBe('5.0.4');
  });

  it('type-checks a consumer that imports the package by name, with skipLibCheck off', () => {
    expect(fs.existsSync(path.join(root, 'dist', 'index.d.ts'))).toBe(true);
    const { ours, checkedDist } = checkWith50(
      [
        "import * as ll from 'longlora-ts';",
        'async function main(): Promise<void> {',
        "  const name: 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu' = await ll.ready();",
        '  const info = ll.backendInfo();',
        '  const t: ll.Tensor = ll.matmul(ll.tf.ones([2, 3]), ll.tf.ones([3, 4]));',
        '  console.log(name, info.threads, info.reason, t.shape);',
        '}',
        'void main;',
        '',
      ].join('\n'),
    );
    expect(ours).toEqual([]);
    // every declaration file we ship was part of the program
    const shipped = fs.readdirSync(path.join(root, 'dist'), { recursive: true } as never) as unknown as string[];
    expect(checkedDist).toBe(shipped.filter((f) => String(f).endsWith('.d.ts')).length);
  });

  it('would catch a declaration that only newer compilers accept (the check can fail)', () => {
    const { ours } = checkWith50("import { x } from './newer';\nconsole.log(x.length);\n", {
      'newer.d.ts': 'export declare const x: Float32Array<ArrayBuffer>;\n',
    });
    expect(ours.join('\n')).toMatch(/Type 'Float32Array' is not generic/);
  });
});
