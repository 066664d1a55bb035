// The bar library, in a module of its own that progress.ts imports on a terminal only: imported
// by name here, so that the bundle keeps the named exports of the CommonJS package.
export { MultiBar, Presets } from 'cli-progress';
