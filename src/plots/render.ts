// Vega-Lite spec -> Vega -> SVG text, headless (renderer 'none': no canvas, no DOM), so the same
// function serves Node and the page. A warning from the compiler or the runtime means part of
// the chart was dropped or guessed, so it is an error here, not a console line. Browser-safe.
import { compile } from 'vega-lite';
import { parse, View, type Spec as VegaSpec } from 'vega';
import type { VegaLiteSpec } from './specs.js';

interface CollectingLogger {
  level(_?: number): number | CollectingLogger;
  error(...args: unknown[]): CollectingLogger;
  warn(...args: unknown[]): CollectingLogger;
  info(...args: unknown[]): CollectingLogger;
  debug(...args: unknown[]): CollectingLogger;
}

/** A logger (vega-util's interface) that keeps warnings and errors as text. */
function collectingLogger(messages: string[]): CollectingLogger {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  const logger: CollectingLogger = {
    level: (level?: number) => (level === undefined ? 2 : logger),
    error: (...args) => { messages.push(text(args)); return logger; },
    warn: (...args) => { messages.push(text(args)); return logger; },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/** Compiles a Vega-Lite spec to Vega, returning the compiler's warnings alongside. */
export function compileVegaLite(spec: VegaLiteSpec): { vega: VegaSpec; warnings: string[] } {
  const warnings: string[] = [];
  const { spec: vega } = compile(spec, { logger: collectingLogger(warnings) });
  return { vega, warnings };
}

/** The chart as a standalone SVG document (width and height in CSS pixels). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, warnings } = compileVegaLite(spec);
  if (warnings.length > 0) throw new Error(`renderSvg: Vega-Lite warned: ${warnings.join('; ')}`);
  const view = new View(parse(vega), { renderer: 'none', logger: collectingLogger(warnings) as never, logLevel: 2 });
  try {
    const svg = await view.toSVG();
    if (warnings.length > 0) throw new Error(`renderSvg: Vega warned while rendering: ${warnings.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}
