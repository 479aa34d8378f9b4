import { describe, expect, it } from 'vitest';
import { ShapeError, add, circularConvolution, concat, crossEntropy, gather, matmul, reshape, slice, tensor, zeros } from './index.js';

describe('bad input gets an error that names the op and the shapes', () => {
  it.each([
    ['add', () => add(zeros([2, 3]), zeros([4])), /add: cannot broadcast.*\[2, 3\], \[4\]/],
    ['matmul', () => matmul(zeros([2, 3]), zeros([4, 5])), /matmul: inner dimensions differ \(3 vs 4\).*\[2, 3\], \[4, 5\]/],
    ['reshape', () => reshape(zeros([2, 3]), [4, 2]), /reshape: cannot reshape 6 elements to \[4, 2\]/],
    ['slice', () => slice(zeros([2, 3]), [1, 2], [1, 2]), /slice: .*outside the tensor on axis 1/],
    ['concat', () => concat([zeros([2, 3]), zeros([3, 3])], 1), /concat: shapes differ outside axis 1.*\[2, 3\], \[3, 3\]/],
    ['circularConvolution', () => circularConvolution(zeros([4]), zeros([2])), /circularConvolution: .*odd length.*\[4\], \[2\]/],
  ])('%s', (_, run, message) => {
    expect(run).toThrow(ShapeError);
    expect(run).toThrow(message);
  });

  it('names out-of-range indices', () => {
    expect(() => gather(zeros([3, 2]), [0, 3])).toThrow(/gather: index 3 at position 1 is out of range \[0, 3\)/);
    expect(() => crossEntropy(zeros([2, 3]), [0, 5])).toThrow(/crossEntropy: label 5 at position 1/);
  });

  it('rejects ragged nested arrays and mismatched data', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged nested array at \[1\]/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
  });
});
