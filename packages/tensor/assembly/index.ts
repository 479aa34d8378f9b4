// The cpu backend's WebAssembly module: matmul and the fused external-memory kernels.
export { attentionRead, attentionReadBackward, attentionTempBytes } from './attention';
export { bagMemoryHops, bagMemoryHopsBackward, bagMemoryHopsBackwardTempBytes, bagMemoryHopsTempBytes, memoryHops, memoryHopsBackward, memoryHopsTempBytes } from './hops';
export { cumulativeProduct, cumulativeProductBackward, linkWeightings, linkWeightingsBackward, temporalLink, temporalLinkBackward, temporalLinkTempBytes } from './scan';
export { embeddingBag, embeddingBagBackward } from './embedding';
export { heapBase, multiplyDirect, multiplyPacked, multiplySmallBatched, pack, packBytes } from './matmul';
export { locationAddress, locationAddressBackward, locationTempBytes, memoryWrite, memoryWriteBackward, rowCosine, rowCosineBackward } from './memory';
export { softmaxCrossEntropy, softmaxCrossEntropyBackward, softmaxCrossEntropyWithGradient } from './softmax';
export { ntmParameterCount, ntmSequence, ntmSequenceTempBytes } from './ntm';
export { dncParameterCount, dncSequence, dncSequenceTempBytes } from './dnc';
export { addInPlace, rmspropUpdate, sgdUpdate, sumOfSquares } from './optimizers';
