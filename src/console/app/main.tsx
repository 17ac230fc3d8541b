/// <reference lib="dom" />
/** The console's entry point (bundled by src/console/bundle.ts). */
import { render } from 'preact';
import { App } from './app.tsx';

render(<App />, document.getElementById('app')!);
