/**
 * The native `tensorflow` backend as npm install sets it up (scripts/setup-tensorflow.js): the real
 * picker path in a fresh process (chosen automatically, oneDNN on, TF's load-time banner dropped,
 * stderr still working after), the environment defaults, and the install step's idempotence and
 * skip switch. Without tfjs-node these tests fail under CI=true (CI must test the native backend)
 * and are skipped with a warning elsewhere.
 */
import { execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { prepareNativeEnvironment } from '../../lib/backend';
import { nativeTensorflowInstalled } from '../helpers';

const root = path.join(__dirname, '..', '..');
const native = nativeTensorflowInstalled() || process.env.CI === 'true';
if (!native) process.stderr.write('[test] @tensorflow/tfjs-node is not set up here: native backend tests skipped (npm run setup:tensorflow)\n');
const nativeIt = native ? it : it.skip;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: root, timeout: 120000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${err.message}\n${stderr.slice(0, 3000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** Like `run`, with the child's stderr going to a file (as `2> file`; Node's own pipes are sockets). */
function runStderrToFile(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'native-')), 'stderr.txt');
  const fd = fs.openSync(file, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', fd] });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => {
      fs.closeSync(fd);
      const stderr = fs.readFileSync(file, 'utf8');
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}\n${stderr.slice(0, 3000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('prepareNativeEnvironment', () => {
  it('turns oneDNN on and TF logs down unless the environment says otherwise', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(prepareNativeEnvironment(env)).toEqual({ onednn: true, onednnSource: 'default' });
    expect(env).toEqual({ TF_ENABLE_ONEDNN_OPTS: '1', TF_CPP_MIN_LOG_LEVEL: '2' });
    // a second call (the GPU package tried first, then the CPU one) still reports our default
    expect(prepareNativeEnvironment(env)).toEqual({ onednn: true, onednnSource: 'default' });
    const user: NodeJS.ProcessEnv = { TF_ENABLE_ONEDNN_OPTS: 'False', TF_CPP_MIN_LOG_LEVEL: '0' };
    expect(prepareNativeEnvironment(user)).toEqual({ onednn: false, onednnSource: 'environment' });
    expect(user).toEqual({ TF_ENABLE_ONEDNN_OPTS: 'False', TF_CPP_MIN_LOG_LEVEL: '0' });
    expect(prepareNativeEnvironment({ TF_ENABLE_ONEDNN_OPTS: '1' })).toEqual({ onednn: true, onednnSource: 'environment' });
  });
});

describe('the native tensorflow backend, as a user gets it', () => {
  const script = `
    const ll = require(${JSON.stringify(root)});
    ll.ready().then(() => {
      const y = ll.matmul(ll.tf.ones([64, 32]), ll.tf.ones([32, 16]));
      process.stderr.write('stderr after loading\\n');
      console.log(JSON.stringify({ info: ll.backendInfo(), y: y.dataSync()[0], tf: ll.tf.getBackend() }));
    });`;

  nativeIt('is chosen automatically, with oneDNN on, and TF prints nothing while it loads', async () => {
    const env = { LONGLORA_BACKEND: '', TF_ENABLE_ONEDNN_OPTS: '', TF_CPP_MIN_LOG_LEVEL: '', LONGLORA_TF_BANNERS: '' };
    const { stdout, stderr } = await runStderrToFile(['-e', script], env);
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result.info.name).toBe('tensorflow');
    expect(result.tf).toBe('tensorflow');
    expect(result.y).toBe(32);
    expect(result.info.native).toMatchObject({ package: '@tensorflow/tfjs-node', onednn: true, onednnSource: 'default', gpu: false });
    expect(result.info.native.libtensorflow).toMatch(/^2\.\d+/);
    expect(result.info.reason).toMatch(/automatic choice.*tensorflow-gpu skipped.*oneDNN on/);
    // the load-time banner is gone, and stderr works again afterwards
    expect(stderr).not.toMatch(/oneDNN custom operations|absl::InitializeLog|cpu_feature_guard/);
    expect(stderr).toContain('stderr after loading');
  });

  nativeIt('keeps the banners with LONGLORA_TF_BANNERS=1 (the check above can fail)', async () => {
    const { stderr } = await runStderrToFile(['-e', script], { LONGLORA_BACKEND: '', TF_ENABLE_ONEDNN_OPTS: '', TF_CPP_MIN_LOG_LEVEL: '', LONGLORA_TF_BANNERS: '1' });
    expect(stderr).toMatch(/oneDNN custom operations are on/);
  });

  nativeIt('honours TF_ENABLE_ONEDNN_OPTS=0 from the environment and says so', async () => {
    const { stdout } = await run(['-e', script], { LONGLORA_BACKEND: 'tensorflow', TF_ENABLE_ONEDNN_OPTS: '0' });
    const result = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(result.info.native).toMatchObject({ onednn: false, onednnSource: 'environment' });
    expect(result.info.reason).toMatch(/requested by LONGLORA_BACKEND; libtensorflow .*oneDNN off \(TF_ENABLE_ONEDNN_OPTS\)/);
  });
});

describe('npm run setup:tensorflow', () => {
  nativeIt('is idempotent: a second run finds the built addon, load-checks it and does nothing', async () => {
    const { stdout } = await run([path.join(root, 'scripts', 'setup-tensorflow.js')]);
    expect(stdout).toMatch(/\[setup:tensorflow\] up to date: tensorflow backend \(libtensorflow 2\.\d+\.\d+, tfjs-node 4\.22\.0\) loads/);
  });

  it('is skipped with LONGLORA_SKIP_TENSORFLOW=1', async () => {
    const { stdout } = await run([path.join(root, 'scripts', 'setup-tensorflow.js')], { LONGLORA_SKIP_TENSORFLOW: '1' });
    expect(stdout).toMatch(/skipped \(LONGLORA_SKIP_TENSORFLOW=1\)/);
  });
});
