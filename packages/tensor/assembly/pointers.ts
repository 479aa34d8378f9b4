// Pointer arithmetic shared by the kernels: arrays are f32 (or i32 indices), addressed by element.

/** Bytes per element (f32 and i32 alike). */
export const F: usize = 4;

/** The byte address of element `index` of the array at `base`. */
@inline export function at(base: usize, index: i32): usize {
  return base + (<usize>index) * F;
}

// Small tables (per-layer and per-head offsets) live in static memory made with `memory.data`, below `__heap_base`:
// the JavaScript side manages everything from the heap base up (operand cache, scratch), so nothing there may be
// allocated with `new` (the stub runtime would put it where the scratch later writes).

/** Entry i of a table of 32-bit values made with `memory.data`. */
@inline export function entry(table: usize, i: i32): usize {
  return load<usize>(table + ((<usize>i) << 2));
}

/** Sets entry i of a table made with `memory.data`. */
@inline export function setEntry(table: usize, i: i32, value: usize): void {
  store<usize>(table + ((<usize>i) << 2), value);
}
