/**
 * Quality metrics from the aggregates the database returns. A metric that is undefined for the data
 * (precision with no predicted positive, ROC AUC with one class only) is null, never 0 or NaN.
 */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

export function classification(labels: number, correct: number, c: Confusion) {
  return {
    accuracy: ratio(correct, labels),
    precision: ratio(c.tp, c.tp + c.fp),
    recall: ratio(c.tp, c.tp + c.fn),
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
  };
}

/**
 * ROC AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs in which the positive
 * has the higher score, ties counted as half (`wins` = that count). Equals the area under the ROC curve.
 */
export function rocAuc(positives: number, negatives: number, wins: number): number | null {
  if (positives === 0 || negatives === 0) return null;
  return wins / (positives * negatives);
}
