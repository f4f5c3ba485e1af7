// pngjs's browserified build: the same PNG class as 'pngjs' with its own Buffer and zlib
// polyfills bundled in, so the data layer decodes PNGs in browsers without Node built-ins.
declare module 'pngjs/browser.js' {
  const png: { PNG: typeof import('pngjs').PNG };
  export default png;
}
