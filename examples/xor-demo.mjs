// A small demonstration of the tensor core: a 2-16-1 network learns XOR with Adam, with live
// progress, then prints what it learned. (The NTM copy task replaces this as the main job.)
import { Adam, Random, binaryCrossEntropyWithLogits, getDefaultBackend, glorotUniform, matmul, noGrad, sigmoid, tanh, tensor, zeros } from '@engram/tensor';

const rng = new Random(1);
const w1 = glorotUniform([2, 16], rng);
const b1 = zeros([16], { requiresGrad: true });
const w2 = glorotUniform([16, 1], rng);
const b2 = zeros([1], { requiresGrad: true });
const inputs = tensor([
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
]);
const targets = tensor([[0], [1], [1], [0]]);
const forward = (x) => matmul(tanh(matmul(x, w1).add(b1)), w2).add(b2);
const optimizer = new Adam([w1, b1, w2, b2], 0.03);

console.log(`backend: ${getDefaultBackend().description}`);
const steps = 300;
for (let step = 1; step <= steps; step++) {
  optimizer.zeroGrad();
  const loss = binaryCrossEntropyWithLogits(forward(inputs), targets);
  loss.backward();
  optimizer.step();
  if (step % 10 === 0 || step === steps) {
    const done = Math.round((step / steps) * 30);
    process.stdout.write(`\r[${'#'.repeat(done)}${'.'.repeat(30 - done)}] step ${step}/${steps}  loss ${loss.item().toFixed(4)}`);
  }
}
process.stdout.write('\n');
const predictions = noGrad(() => sigmoid(forward(inputs)).toArray());
const pairs = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];
for (const [i, [a, b]] of pairs.entries()) console.log(`${a} xor ${b} → ${predictions[i].toFixed(3)}`);
