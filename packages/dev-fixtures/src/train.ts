import type { FraudData } from "./fraud-data";

export interface LogisticModel {
  /** Weights on the raw (unstandardised) features: standardisation is folded in. */
  weights: Float32Array;
  bias: number;
}

/**
 * Logistic regression by full-batch gradient descent on standardised features, with L2. The
 * standardisation is folded back into the weights, so the exported model takes raw features.
 */
export function trainLogisticRegression(data: FraudData, { epochs = 300, learningRate = 0.5, l2 = 1e-4 } = {}): LogisticModel {
  const width = data.features.length;
  const rows = data.labels.length;
  const mean = new Float64Array(width);
  const std = new Float64Array(width);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) mean[j] += data.values[r * width + j] / rows;
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) std[j] += (data.values[r * width + j] - mean[j]) ** 2 / rows;
  for (let j = 0; j < width; j++) std[j] = Math.sqrt(std[j]) || 1;

  const x = new Float64Array(rows * width);
  for (let i = 0; i < x.length; i++) x[i] = (data.values[i] - mean[i % width]) / std[i % width];
  const w = new Float64Array(width);
  let b = 0;
  const grad = new Float64Array(width);
  for (let epoch = 0; epoch < epochs; epoch++) {
    grad.fill(0);
    let gradB = 0;
    for (let r = 0; r < rows; r++) {
      let z = b;
      for (let j = 0; j < width; j++) z += w[j] * x[r * width + j];
      const error = 1 / (1 + Math.exp(-z)) - data.labels[r];
      for (let j = 0; j < width; j++) grad[j] += error * x[r * width + j];
      gradB += error;
    }
    for (let j = 0; j < width; j++) w[j] -= learningRate * (grad[j] / rows + l2 * w[j]);
    b -= (learningRate * gradB) / rows;
  }
  const weights = new Float32Array(width);
  let bias = b;
  for (let j = 0; j < width; j++) {
    weights[j] = w[j] / std[j];
    bias -= (w[j] * mean[j]) / std[j];
  }
  return { weights, bias };
}

export function predictProbability(model: LogisticModel, row: ArrayLike<number>): number {
  let z = model.bias;
  for (let j = 0; j < model.weights.length; j++) z += model.weights[j] * row[j];
  return 1 / (1 + Math.exp(-z));
}
