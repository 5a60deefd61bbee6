// Every test file ends by disposing its backends, so the wasm pthread pool does not outlive it.
import { shutdownBackends } from '../lib/backend';

afterAll(() => {
  shutdownBackends();
});
