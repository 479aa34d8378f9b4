/**
 * `engram`: the command line (`engram train ntm`, `engram eval`, `engram show`), and the
 * functions behind it for programs that want the same training loop.
 *
 * @packageDocumentation
 */
export { type EvaluationRow, evaluateModel, loadRun } from './evaluate.js';
export { bar, count, formatDuration } from './format.js';
export { plotCurve, readCurve } from './plot.js';
export { type Shown, renderSvg, renderTerminal, showSequence } from './show.js';
export { type Series, document, escapeXml, heatmap, lineChart, shade } from './svg.js';
export { CURVE_HEADER, type TrainIO, type TrainOptions, type TrainOutcome, runTraining } from './train.js';
