// Charts to files in Node: the SVG from src/plots/render.ts, rasterised to PNG by resvg (a Rust
// SVG renderer, no browser or canvas) with the system's fonts. resvg draws text only with a font
// it can load, and would otherwise leave every label out without a word, so the first PNG of a
// process checks that text comes out and names the package to install when it does not.
import { renderAsync, type ResvgRenderOptions } from '@resvg/resvg-js';
import { renderSvg } from '../plots/render.js';
import type { VegaLiteSpec } from '../plots/specs.js';
import { writeFileAtomic } from './atomic-write.js';

// Vega asks for the generic 'sans-serif'; DejaVu Sans is Debian's default (fonts-dejavu-core).
const RESVG_FONTS: ResvgRenderOptions['font'] = { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' };

let textChecked: Promise<void> | undefined;

/** Throws when resvg finds no font that draws 'sans-serif' text. */
async function assertTextRenders(): Promise<void> {
  const probe = '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30"><text x="4" y="22" font-family="sans-serif" font-size="20">Ag</text></svg>';
  const pixels = (await renderAsync(probe, { font: RESVG_FONTS })).pixels;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) inked++;
  if (inked === 0) {
    throw new Error('renderPng: no installed font draws text, so the PNG would have no labels: install one (Debian: apt-get install fonts-dejavu-core; scripts/setup.sh does it as root)');
  }
}

/** The chart as PNG bytes, `scale` device pixels per CSS pixel (default 2), on white. */
export async function renderPng(spec: VegaLiteSpec, options: { scale?: number } = {}): Promise<Uint8Array> {
  return svgToPng(await renderSvg(spec), options);
}

/** SVG text (a chart from renderSvg) to PNG bytes. */
export async function svgToPng(svg: string, { scale = 2 }: { scale?: number } = {}): Promise<Uint8Array> {
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16)) throw new Error(`renderPng: scale must be in (0, 16], got ${scale}`);
  textChecked ??= assertTextRenders();
  try {
    await textChecked;
  } catch (error) {
    textChecked = undefined;
    throw error;
  }
  const image = await renderAsync(svg, { font: RESVG_FONTS, fitTo: { mode: 'zoom', value: scale }, background: 'white' });
  return new Uint8Array(image.asPng());
}

/** Writes `<path>.svg` and `<path>.png` (each atomically) and returns both paths. */
export async function writePlot(pathWithoutExtension: string, spec: VegaLiteSpec, options: { scale?: number } = {}): Promise<{ svg: string; png: string }> {
  if (/\.(svg|png)$/i.test(pathWithoutExtension)) throw new Error(`writePlot: pass the path without extension (got ${pathWithoutExtension}); .svg and .png are both written`);
  const svg = await renderSvg(spec);
  const png = await svgToPng(svg, options);
  const paths = { svg: `${pathWithoutExtension}.svg`, png: `${pathWithoutExtension}.png` };
  writeFileAtomic(paths.svg, svg);
  writeFileAtomic(paths.png, png);
  return paths;
}
