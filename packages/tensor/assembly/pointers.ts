// Pointer arithmetic shared by the kernels: arrays are f32 (or i32 indices), addressed by element.

/** Bytes per element (f32 and i32 alike). */
export const F: usize = 4;

/** The byte address of element `index` of the array at `base`. */
@inline export function at(base: usize, index: i32): usize {
  return base + (<usize>index) * F;
}
