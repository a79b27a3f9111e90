//! Matrix multiplication that allocates nothing once its caller-owned scratch has grown:
//! [`gemm`] and [`GemmScratch`].
//!
//! # The blocking scheme
//! `c = alpha a b + beta c` is computed in the classic packed, register-blocked way. The
//! depth `k` is cut into blocks of at most 256 (split evenly, so 784 becomes four blocks
//! of 196), the columns of `b` into blocks of at most 2048, the rows of `a` into blocks of
//! at most 96. For each depth block, the block of `b` is copied into the scratch as
//! panels of `NR` columns (each depth step's `NR` values side by side), and each row block
//! of `a` as panels of `MR` rows, padded with zeros to whole panels. Packing turns any
//! strides (transposed views, steps, negative strides) into contiguous memory that the
//! micro-kernel reads front to back. The micro-kernel then computes one `MR x NR` tile of
//! `c` in registers over the whole depth block and adds it into `c`, touching only the
//! rows and columns that exist. On x86_64 with AVX2 and FMA, `f32` uses a 6 x 16 kernel
//! (twelve 8-lane accumulators, two loads of `b` and six broadcasts of `a` per depth step)
//! that prefetches its tile of `c` before the depth loop, and packs lines that run along
//! the depth (a row-major `a`, a transposed `b`) by 8 x 8 transposes in registers instead
//! of one element at a time; everything else (`f64`, other processors) uses a portable
//! 4 x 8 kernel in plain Rust.
//!
//! # Determinism
//! Every element of `c` is a sum over the depth in increasing order, one running sum per
//! depth block, folded into `c` block by block. The order depends only on `k`, never on
//! the tile an element falls in, the other dimensions, the strides or the run, so the same
//! inputs give the same bits every time on the same processor. (The AVX2 kernel fuses each
//! multiply-add and the portable one does not, so the two paths may differ in the last bit.)
//!
//! # Threads
//! A large product is cut into one part per thread. A product deeper than it is wide (the
//! first layer's forward, `[64, 784] x [784, 128]`) is cut along the depth, in whole blocks:
//! the caller's blocks go into `c` as usual, each other block's sum into a buffer of its
//! own, folded into `c` afterwards in block order and with the kernel's rounding. Other
//! products are cut into rows or columns of `c`. Either way every element gets the bits it
//! gets on one thread.

use std::fmt;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use crate::error::{Error, Result};
use crate::tensor::Float;

/// The largest depth block: one `b` panel (`KC x 16` f32, 16 KiB) stays in the L1 cache.
const KC: usize = 256;
/// The largest row block of `a` packed at once (a multiple of every kernel's row count).
const MC: usize = 96;
/// The largest column block of `b` packed at once (a multiple of every kernel's column count).
const NC: usize = 2048;

/// Where the packed blocks start: a cache line, so each depth step of a 16-wide `f32` panel
/// is exactly one line.
const ALIGN: usize = 64;

/// Reusable packing memory for [`gemm`].
///
/// It grows on first use to fit the largest product it has served, and is never reallocated
/// afterwards for products that are no larger in any dimension. Keep one per place that multiplies
/// (a [`Dense`](crate::layers::Dense) layer keeps its own). Its contents are meaningless
/// between calls, so a clone starts empty.
#[derive(Default)]
pub struct GemmScratch<F> {
    buf: Vec<F>,
    /// The sums of the depth blocks a thread other than the caller takes in a product cut
    /// along the depth (see `multiply_split_depth`).
    partial: Vec<F>,
    /// One scratch per thread when a product is split (see [`crate::parallel`]).
    parts: Vec<GemmScratch<F>>,
}

impl<F> GemmScratch<F> {
    /// The number of elements it holds.
    pub fn len(&self) -> usize {
        self.buf.len() + self.partial.len() + self.parts.iter().map(GemmScratch::len).sum::<usize>()
    }

    /// Whether it has not grown yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<F: Float> GemmScratch<F> {
    /// An empty scratch; the first [`gemm`] sizes it.
    pub fn new() -> Self {
        GemmScratch { buf: Vec::new(), partial: Vec::new(), parts: Vec::new() }
    }

    /// Two disjoint slices of `a_len` and `b_len` elements, each starting on an [`ALIGN`]
    /// boundary when the allocator allows it, growing the buffer only if it is too small.
    fn split(&mut self, a_len: usize, b_len: usize) -> (&mut [F], &mut [F]) {
        let pad = ALIGN / size_of::<F>();
        let b_start = a_len.next_multiple_of(pad);
        let need = pad + b_start + b_len;
        if self.buf.len() < need {
            self.buf.resize(need, F::zero());
        }
        // An alignment the allocator did not give costs speed, never correctness.
        let offset = self.buf.as_ptr().align_offset(ALIGN).min(pad);
        let (a, b) = self.buf[offset..].split_at_mut(b_start);
        (&mut a[..a_len], &mut b[..b_len])
    }
}

impl<F> Clone for GemmScratch<F> {
    /// An empty scratch: the contents are scratch, and the clone grows on its first use.
    fn clone(&self) -> Self {
        GemmScratch { buf: Vec::new(), partial: Vec::new(), parts: Vec::new() }
    }
}

impl<F> fmt::Debug for GemmScratch<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GemmScratch").field("len", &self.len()).finish()
    }
}

/// `c = alpha * a b + beta * c`, packing through `scratch` instead of allocating.
///
/// Any strides are accepted, including transposed views (`x.t()`), stepped slices and
/// negative strides. When `beta` is zero, `c` is not read, so whatever it holds (even NaN) is
/// ignored. When the depth is zero or `alpha` is zero, `c` becomes `beta * c` (zero when `beta`
/// is zero) and `a` and `b` are not read. See the [module docs](self) for the blocking scheme
/// and the summation order.
///
/// # Errors
/// [`Error::Shape`] when the shapes do not fit: `a` is `[m, k]`, `b` must be `[k, n]` and `c`
/// `[m, n]`; `c` is then untouched.
///
/// # Example
/// ```
/// use ferronet::linalg::{GemmScratch, gemm};
/// use ndarray::{Array2, array};
///
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let b = array![[5.0f32, 6.0], [7.0, 8.0]];
/// let mut c = Array2::from_elem((2, 2), f32::NAN);
/// let mut scratch = GemmScratch::new();
/// gemm(1.0, a.view(), b.t(), 0.0, c.view_mut(), &mut scratch)?;
/// assert_eq!(c, array![[17.0, 23.0], [39.0, 53.0]]);
/// # Ok::<(), ferronet::Error>(())
/// ```
pub fn gemm<F: Float>(
    alpha: F,
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    beta: F,
    mut c: ArrayViewMut2<F>,
    scratch: &mut GemmScratch<F>,
) -> Result<()> {
    let [m, k, n] = dims_of(&a, &b, &c)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 || alpha == F::zero() {
        if beta == F::zero() {
            c.fill(F::zero());
        } else if beta != F::one() {
            c.map_inplace(|x| *x = beta * *x);
        }
        return Ok(());
    }
    let onto = if beta == F::zero() { Onto::Nothing } else { Onto::Scaled(beta) };
    let write = Write { alpha, onto, relu: false };
    // SAFETY: the matrices come from views of the stated shapes, and `c` is borrowed mutably,
    // so it overlaps neither `a` nor `b`.
    unsafe { product(MatRef::of(&a), MatRef::of(&b), write, MatMut::of(&mut c), [m, k, n], scratch) };
    Ok(())
}

/// `c = a b + bias`, the bias added to every row, then `max(c, 0)` when `relu` is set: a dense
/// layer's forward pass. The bias and the ReLU are applied as the kernel writes each tile of
/// `c`, so they cost no pass of their own. `c` is not read.
///
/// The bits are those of broadcasting the bias into `c`, then `gemm` with `beta = 1`, then a
/// ReLU that keeps NaN and sends `-0.0` to `0.0`.
///
/// # Errors
/// [`Error::Shape`] when the shapes do not fit: `a` is `[m, k]`, `b` must be `[k, n]`, `bias`
/// `[n]` and `c` `[m, n]`; `c` is then untouched.
///
/// # Example
/// ```
/// use ferronet::linalg::{GemmScratch, affine};
/// use ndarray::{Array2, array};
///
/// let x = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let w = array![[1.0f32, -1.0], [1.0, -1.0]];
/// let mut y = Array2::zeros((2, 2));
/// affine(x.view(), w.view(), array![0.5f32, 2.0].view(), true, y.view_mut(), &mut GemmScratch::new())?;
/// assert_eq!(y, array![[3.5, 0.0], [7.5, 0.0]]);
/// # Ok::<(), ferronet::Error>(())
/// ```
pub fn affine<F: Float>(
    a: ArrayView2<F>,
    b: ArrayView2<F>,
    bias: ArrayView1<F>,
    relu: bool,
    mut c: ArrayViewMut2<F>,
    scratch: &mut GemmScratch<F>,
) -> Result<()> {
    let [m, k, n] = dims_of(&a, &b, &c)?;
    if bias.len() != n {
        return Err(Error::shape(
            format!("affine: the bias of a {:?} result", c.shape()),
            &[n],
            bias.shape(),
        ));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    let onto = match bias.as_slice() {
        Some(bias) if k > 0 => Onto::Bias(bias.as_ptr()),
        // A strided bias is broadcast first and added to like an old `c`.
        _ => {
            c.assign(&bias);
            Onto::Scaled(F::one())
        }
    };
    if k == 0 {
        if relu {
            c.map_inplace(|x| *x = crate::layers::relu(*x));
        }
        return Ok(());
    }
    let write = Write { alpha: F::one(), onto, relu };
    // SAFETY: as in `gemm`; the bias, when used, is a slice of `n` elements.
    unsafe { product(MatRef::of(&a), MatRef::of(&b), write, MatMut::of(&mut c), [m, k, n], scratch) };
    Ok(())
}

/// `[m, k, n]` when `a` is `[m, k]`, `b` `[k, n]` and `c` `[m, n]`.
fn dims_of<F>(a: &ArrayView2<F>, b: &ArrayView2<F>, c: &ArrayViewMut2<F>) -> Result<[usize; 3]> {
    let (m, k) = a.dim();
    let n = b.ncols();
    if b.nrows() != k {
        return Err(Error::shape(
            format!("gemm: the right factor of a {:?} matrix", a.shape()),
            &[k, n],
            b.shape(),
        ));
    }
    if c.dim() != (m, n) {
        return Err(Error::shape(
            format!("gemm: the product of {:?} by {:?}", a.shape(), b.shape()),
            &[m, n],
            c.shape(),
        ));
    }
    Ok([m, k, n])
}

/// How the kernel writes a depth block's sums into `c`: `c = alpha * sum + onto`, then ReLU
/// when `relu` is set (only ever for the last depth block).
#[derive(Clone, Copy)]
struct Write<F> {
    alpha: F,
    onto: Onto<F>,
    relu: bool,
}

/// What a depth block's sums are added to.
#[derive(Clone, Copy)]
enum Onto<F> {
    /// Nothing: `c` is not read.
    Nothing,
    /// `beta * c`.
    Scaled(F),
    /// `bias[j]` in column `j` of every row; the pointer is at the bias of the first column of
    /// the `c` it goes with, and the bias is contiguous.
    Bias(*const F),
}

impl<F> Onto<F> {
    /// The same for the matrix from column `j` on.
    fn skip_cols(self, j: usize) -> Self {
        match self {
            Onto::Bias(bias) => Onto::Bias(bias.wrapping_add(j)),
            other => other,
        }
    }
}

impl<F: Float> Write<F> {
    /// The write of depth block `pc .. pc + kc` of `k`: the first adds onto what `self` says,
    /// the later ones onto `c`; only the last applies the ReLU.
    fn for_block(self, pc: usize, kc: usize, k: usize) -> Self {
        let onto = if pc == 0 { self.onto } else { Onto::Scaled(F::one()) };
        Write { alpha: self.alpha, onto, relu: self.relu && pc + kc >= k }
    }

    #[cfg(target_arch = "x86_64")]
    fn to_f32(self) -> Write<f32> {
        let onto = match self.onto {
            Onto::Nothing => Onto::Nothing,
            Onto::Scaled(beta) => Onto::Scaled(beta.to_f64() as f32),
            Onto::Bias(bias) => Onto::Bias(bias.cast()),
        };
        Write { alpha: self.alpha.to_f64() as f32, onto, relu: self.relu }
    }
}

/// `c = write(a b)` for `[m, k, n]` with `m, n, k > 0`, cut across the threads when large.
///
/// # Safety
/// `a`, `b` and `c` address `[m, k]`, `[k, n]` and `[m, n]` valid elements, `c` overlaps
/// neither, and a bias in `write` addresses `n` valid elements.
unsafe fn product<F: Float>(
    a: MatRef<F>,
    b: MatRef<F>,
    write: Write<F>,
    c: MatMut<F>,
    [m, k, n]: [usize; 3],
    scratch: &mut GemmScratch<F>,
) {
    let parts =
        if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN_WORK { crate::parallel::parts() } else { 1 };
    if parts <= 1 {
        // SAFETY: forwarded.
        unsafe { multiply(a, b, write, c, [m, k, n], scratch) };
        return;
    }
    if scratch.parts.len() < parts {
        scratch.parts.resize_with(parts, GemmScratch::new);
    }
    let shared = &Split { a, b, c, write, scratches: scratch.parts.as_mut_ptr() };
    if k.div_ceil(KC) >= parts && k > m.max(n) {
        // SAFETY: forwarded.
        unsafe { multiply_split_depth(shared, [m, k, n], parts) };
        return;
    }
    // Cut the larger side of the result, so that the operand packed again by every thread
    // is the smaller one. Either cut leaves each element's sum over the depth as it was.
    let split_rows = m > n;
    crate::parallel::run(parts, &|part| {
        let Split { a, b, c, write, scratches } = *shared;
        let (a, b, c, write, dims) = if split_rows {
            let rows = crate::parallel::range(m, parts, part, 8);
            (a.skip_rows(rows.start), b, c.skip_rows(rows.start), write, [rows.len(), k, n])
        } else {
            let cols = crate::parallel::range(n, parts, part, 16);
            let write = Write { onto: write.onto.skip_cols(cols.start), ..write };
            (a, b.skip_cols(cols.start), c.skip_cols(cols.start), write, [m, k, cols.len()])
        };
        if dims[0] == 0 || dims[2] == 0 {
            return;
        }
        // SAFETY: each part multiplies its own rows (or columns) of `c`, disjoint from the
        // other parts', into its own scratch; all stay borrowed until `run` returns.
        unsafe { multiply(a, b, write, c, dims, &mut *scratches.add(part)) };
    });
}

/// Products with fewer multiply-adds than this run on one thread: a hand-off to another
/// thread costs a few microseconds.
const PARALLEL_MIN_WORK: usize = 1 << 18;

/// What the threads of a split product share.
#[derive(Clone, Copy)]
struct Split<F> {
    a: MatRef<F>,
    b: MatRef<F>,
    c: MatMut<F>,
    write: Write<F>,
    scratches: *mut GemmScratch<F>,
}

// SAFETY: the threads only read `a`, `b` and the bias, and write disjoint parts of `c` and of
// the scratches (see `product`).
unsafe impl<F: Send> Sync for Split<F> {}

/// A deep product (the first layer's forward `[64, 784] x [784, 128]`) cut along the depth:
/// each thread takes whole depth blocks, so it packs only its share of both operands, and
/// reads the rows of `b` (the first layer's weight) that its share of the weight gradient
/// and of the optimizer step wrote.
///
/// The first part writes its blocks into `c` as [`run`] would; every later block's sum goes to
/// its own buffer in that part's scratch and is folded into `c` afterwards, block by block in
/// increasing order, rounded as the kernel folds a block, the last with the ReLU if asked.
/// So `c` gets exactly the bits of the unsplit product, whatever the number of parts.
///
/// # Safety
/// As [`product`] for the matrices in `split`, whose `scratches` hold `parts` scratches;
/// `k` has at least `parts` depth blocks.
unsafe fn multiply_split_depth<F: Float>(split: &Split<F>, [m, k, n]: [usize; 3], parts: usize) {
    let blocks = k.div_ceil(KC);
    let depth = k.div_ceil(blocks);
    crate::parallel::run(parts, &|part| {
        let Split { a, b, c, write, scratches } = *split;
        // SAFETY: each part uses only its own scratch, which stays borrowed until `run` returns.
        let scratch = unsafe { &mut *scratches.add(part) };
        let mine = crate::parallel::range(blocks, parts, part, 1);
        if part > 0 && scratch.partial.len() < mine.len() * m * n {
            scratch.partial.resize(mine.len() * m * n, F::zero());
        }
        let mut partial = std::mem::take(&mut scratch.partial);
        for (nth, block) in mine.enumerate() {
            let start = block * depth;
            let dims = [m, depth.min(k - start), n];
            let (a, b) = (a.skip_cols(start), b.skip_rows(start));
            // SAFETY: the blocks are inside `a` and `b`; the first part writes `c` (never its
            // last block, which belongs to a later part), the others their own buffers of
            // `m * n` elements.
            unsafe {
                if part == 0 {
                    multiply(a, b, write.for_block(start, dims[1], k), c, dims, scratch);
                } else {
                    let out = MatMut { ptr: partial[nth * m * n..].as_mut_ptr(), rs: n as isize, cs: 1 };
                    let sum = Write { alpha: F::one(), onto: Onto::Nothing, relu: false };
                    multiply(a, b, sum, out, dims, scratch);
                }
            }
        }
        scratch.partial = partial;
    });
    let Split { c, write, scratches, .. } = *split;
    let mut block = crate::parallel::range(blocks, parts, 0, 1).end;
    for part in 1..parts {
        // SAFETY: the parts are done; this part's scratch holds its blocks' sums.
        let scratch = unsafe { &*scratches.add(part) };
        let count = crate::parallel::range(blocks, parts, part, 1).len();
        for sum in scratch.partial.chunks_exact(m * n).take(count) {
            block += 1;
            let relu = write.relu && block == blocks;
            // SAFETY: `c` addresses `[m, n]` elements; `sum` holds `m * n`.
            unsafe { fold(write.alpha, sum, relu, c, [m, n]) };
        }
    }
}

/// `c = alpha * sum + c`, then ReLU when `relu` is set, element by element, rounded exactly as
/// the kernel writes a later depth block: fused on the AVX2 path, a product then a sum on the
/// portable one.
///
/// # Safety
/// `c` addresses `[m, n]` valid elements, not overlapping `sum`, which holds `[m, n]` row-major.
unsafe fn fold<F: Float>(alpha: F, sum: &[F], relu: bool, c: MatMut<F>, [m, n]: [usize; 2]) {
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        // SAFETY: F is f32 (same TypeId), so the casts only rename the type; the processor has FMA.
        unsafe {
            let sum = std::slice::from_raw_parts(sum.as_ptr().cast::<f32>(), sum.len());
            avx2::fold(alpha.to_f64() as f32, sum, relu, c.cast(), [m, n]);
        }
        return;
    }
    for (i, row) in sum.chunks_exact(n).take(m).enumerate() {
        for (j, &sum) in row.iter().enumerate() {
            let out = c.tile(i, j, 1, 1).ptr;
            // SAFETY: (i, j) is inside `c`.
            unsafe {
                let value = alpha * sum + *out;
                *out = if relu { crate::layers::relu(value) } else { value };
            }
        }
    }
}

/// `c = write(a b)` on this thread, with the fastest kernel the processor has.
///
/// # Safety
/// As [`product`].
unsafe fn multiply<F: Float>(
    a: MatRef<F>,
    b: MatRef<F>,
    write: Write<F>,
    c: MatMut<F>,
    [m, k, n]: [usize; 3],
    scratch: &mut GemmScratch<F>,
) {
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        // SAFETY: F is f32 (same TypeId), so every cast below only renames the type. The
        // caller vouches for the matrices. The processor has AVX2 and FMA, checked just above.
        unsafe {
            let scratch = &mut *(scratch as *mut GemmScratch<F>).cast::<GemmScratch<f32>>();
            run::<f32, avx2::Avx2Fma>(a.cast(), b.cast(), write.to_f32(), c.cast(), [m, k, n], scratch);
        }
        return;
    }
    // SAFETY: as above; the portable kernel needs no processor feature.
    unsafe { run::<F, Portable>(a, b, write, c, [m, k, n], scratch) };
}

/// A read-only matrix as its first element and strides, in elements.
#[derive(Clone, Copy)]
struct MatRef<F> {
    ptr: *const F,
    rs: isize,
    cs: isize,
}

impl<F> MatRef<F> {
    fn of(view: &ArrayView2<F>) -> Self {
        MatRef { ptr: view.as_ptr(), rs: view.strides()[0], cs: view.strides()[1] }
    }

    /// The address of element `(i, j)`. Computing it is safe; reading it needs `(i, j)` in bounds.
    fn at(self, i: usize, j: usize) -> *const F {
        self.ptr.wrapping_offset(i as isize * self.rs + j as isize * self.cs)
    }

    /// The matrix from row `i` on.
    fn skip_rows(self, i: usize) -> Self {
        let (rs, cs) = (self.rs, self.cs);
        MatRef { ptr: self.at(i, 0), rs, cs }
    }

    /// The matrix from column `j` on.
    fn skip_cols(self, j: usize) -> Self {
        let (rs, cs) = (self.rs, self.cs);
        MatRef { ptr: self.at(0, j), rs, cs }
    }

    #[cfg(target_arch = "x86_64")]
    fn cast<G>(self) -> MatRef<G> {
        MatRef { ptr: self.ptr.cast(), rs: self.rs, cs: self.cs }
    }
}

/// A writable matrix as its first element and strides, in elements.
#[derive(Clone, Copy)]
struct MatMut<F> {
    ptr: *mut F,
    rs: isize,
    cs: isize,
}

impl<F> MatMut<F> {
    fn of(view: &mut ArrayViewMut2<F>) -> Self {
        let (rs, cs) = (view.strides()[0], view.strides()[1]);
        MatMut { ptr: view.as_mut_ptr(), rs, cs }
    }

    /// The tile of `rows x cols` elements starting at `(i, j)`.
    fn tile(self, i: usize, j: usize, rows: usize, cols: usize) -> Tile<F> {
        let ptr = self.ptr.wrapping_offset(i as isize * self.rs + j as isize * self.cs);
        Tile { ptr, rs: self.rs, cs: self.cs, rows, cols }
    }

    /// The matrix from row `i` on.
    fn skip_rows(self, i: usize) -> Self {
        MatMut { ptr: self.ptr.wrapping_offset(i as isize * self.rs), ..self }
    }

    /// The matrix from column `j` on.
    fn skip_cols(self, j: usize) -> Self {
        MatMut { ptr: self.ptr.wrapping_offset(j as isize * self.cs), ..self }
    }

    #[cfg(target_arch = "x86_64")]
    fn cast<G>(self) -> MatMut<G> {
        MatMut { ptr: self.ptr.cast(), rs: self.rs, cs: self.cs }
    }
}

/// The part of `c` one micro-kernel call writes: `rows <= MR` by `cols <= NR` elements.
struct Tile<F> {
    ptr: *mut F,
    rs: isize,
    cs: isize,
    rows: usize,
    cols: usize,
}

impl<F> Tile<F> {
    fn at(&self, i: usize, j: usize) -> *mut F {
        self.ptr.wrapping_offset(i as isize * self.rs + j as isize * self.cs)
    }
}

/// A register-blocked micro-kernel: one `MR x NR` tile of `c` from a packed panel of `a`
/// (`MR` values per depth step) and one of `b` (`NR` values per depth step).
trait Kernel<F: Float> {
    /// Rows of a tile.
    const MR: usize;
    /// Columns of a tile.
    const NR: usize;

    /// Packs `block` into `dst` as panels of `width` (`MR` or `NR`) lines; see [`Block`].
    ///
    /// # Safety
    /// As [`pack`], and the processor supports the kernel's instructions.
    unsafe fn pack(block: Block<F>, width: usize, dst: &mut [F]) {
        // SAFETY: forwarded.
        unsafe { pack(block, width, dst) }
    }

    /// `c[i][j] = alpha * sum_p a[p][i] b[p][j] + onto[i][j]` over the tile's rows and
    /// columns, summing `p` in increasing order, then ReLU if `write.relu`; `Onto::Nothing`
    /// does not read `c`.
    ///
    /// # Safety
    /// The processor supports the kernel's instructions, every element of `c`'s tile is
    /// valid for reads and writes and overlaps neither panel, and a bias in `write` addresses
    /// the tile's columns.
    unsafe fn tile(a: &[F], b: &[F], write: Write<F>, c: Tile<F>);
}

/// A `lines x depth` block of a matrix to pack: element `(l, p)` is at
/// `src + l * line_stride + p * depth_stride`. For `a` the lines are rows, for `b` columns.
#[derive(Clone, Copy)]
struct Block<F> {
    src: *const F,
    line_stride: isize,
    depth_stride: isize,
    lines: usize,
    depth: usize,
}

impl<F: Float> Block<F> {
    /// Rows `i .. i + lines` and columns `p .. p + depth` of `a`.
    fn rows_of(a: MatRef<F>, [i, p]: [usize; 2], [lines, depth]: [usize; 2]) -> Self {
        Block { src: a.at(i, p), line_stride: a.rs, depth_stride: a.cs, lines, depth }
    }

    /// Rows `p .. p + depth` and columns `j .. j + lines` of `b`.
    fn columns_of(b: MatRef<F>, [p, j]: [usize; 2], [depth, lines]: [usize; 2]) -> Self {
        Block { src: b.at(p, j), line_stride: b.cs, depth_stride: b.rs, lines, depth }
    }

    /// The panels of `width` lines: the number of lines in each, and its first element.
    fn panels(self, width: usize) -> impl Iterator<Item = (usize, *const F)> {
        (0..self.lines).step_by(width).map(move |first| {
            (width.min(self.lines - first), self.src.wrapping_offset(first as isize * self.line_stride))
        })
    }
}

/// Copies `block` into `dst` as panels of `width` lines.
///
/// Panel `q` holds, for each depth step `p` in turn, the `width` elements of lines
/// `q * width ..`, with zeros past the last line, so the micro-kernel always reads whole
/// panels. `dst` must hold at least `lines.div_ceil(width) * width * depth` elements.
///
/// # Safety
/// Every element of the block is readable.
#[inline]
unsafe fn pack<F: Float>(block: Block<F>, width: usize, dst: &mut [F]) {
    // SAFETY: forwarded.
    unsafe {
        match width {
            4 => pack_width::<F, 4>(block, dst),
            6 => pack_width::<F, 6>(block, dst),
            8 => pack_width::<F, 8>(block, dst),
            16 => pack_width::<F, 16>(block, dst),
            _ => unreachable!("no kernel is {width} wide"),
        }
    }
}

/// [`pack`] for a width known at compile time, so that each step's copy compiles to a few
/// vector moves.
///
/// # Safety
/// As [`pack`].
#[inline(always)]
unsafe fn pack_width<F: Float, const W: usize>(block: Block<F>, dst: &mut [F]) {
    if block.line_stride == 1 {
        // SAFETY: forwarded.
        unsafe { pack_adjacent::<F, W>(block, dst) };
        return;
    }
    let panels = dst.chunks_exact_mut(W * block.depth).zip(block.panels(W));
    for (panel, (count, base)) in panels {
        // SAFETY: the panel's lines are in the block.
        unsafe { gather_panel::<F, W>(base, block, count, panel) };
    }
}

/// [`pack_width`] for a block whose lines are adjacent in memory (`line_stride == 1`: a
/// transposed `a`, a row-major `b`): each depth step is read front to back once and dealt
/// out to the panels, `W` elements to each.
///
/// # Safety
/// As [`pack`], with `block.line_stride == 1`.
#[inline(always)]
unsafe fn pack_adjacent<F: Float, const W: usize>(block: Block<F>, dst: &mut [F]) {
    let Block { src, depth_stride, lines, depth, .. } = block;
    let (whole, rest) = (lines / W, lines % W);
    for p in 0..depth {
        let step = src.wrapping_offset(p as isize * depth_stride);
        for q in 0..whole {
            // SAFETY: elements (q W .. q W + W, p) are in the block, one after another.
            let from = unsafe { &*step.add(q * W).cast::<[F; W]>() };
            dst[(q * depth + p) * W..][..W].copy_from_slice(from);
        }
        if rest > 0 {
            let to = &mut dst[(whole * depth + p) * W..][..W];
            for (l, slot) in to.iter_mut().enumerate() {
                // SAFETY: element (whole W + l, p) is in the block when l < rest.
                *slot = if l < rest { unsafe { *step.add(whole * W + l) } } else { F::zero() };
            }
        }
    }
}

/// Packs the `count <= W` lines starting at `base` (strides from `block`) into `panel`,
/// `W * block.depth` elements, one element at a time.
///
/// # Safety
/// Every element `(l, p)` for `l < count`, `p < block.depth` is readable from `base`.
#[inline(always)]
unsafe fn gather_panel<F: Float, const W: usize>(
    base: *const F,
    block: Block<F>,
    count: usize,
    panel: &mut [F],
) {
    let Block { line_stride, depth_stride, .. } = block;
    for l in 0..count {
        let line = base.wrapping_offset(l as isize * line_stride);
        for (p, slot) in panel[l..].iter_mut().step_by(W).enumerate() {
            // SAFETY: element (l, p) is in the block.
            *slot = unsafe { *line.wrapping_offset(p as isize * depth_stride) };
        }
    }
    if count < W {
        for step in panel.chunks_exact_mut(W) {
            step[count..].fill(F::zero());
        }
    }
}

/// The blocked product with kernel `K`.
///
/// # Safety
/// `a`, `b` and `c` describe valid `m x k`, `k x n` and `m x n` matrices with `m, k, n > 0`,
/// `c` overlaps neither `a` nor `b`, a bias in `write` addresses `n` valid elements, and the
/// processor supports `K`'s instructions.
unsafe fn run<F: Float, K: Kernel<F>>(
    a: MatRef<F>,
    b: MatRef<F>,
    write: Write<F>,
    c: MatMut<F>,
    [m, k, n]: [usize; 3],
    scratch: &mut GemmScratch<F>,
) {
    let kc_max = k.div_ceil(k.div_ceil(KC));
    let mc_max = MC.min(m.next_multiple_of(K::MR));
    let nc_max = NC.min(n.next_multiple_of(K::NR));
    let (packed_a, packed_b) = scratch.split(mc_max * kc_max, nc_max * kc_max);
    for jc in (0..n).step_by(nc_max) {
        let nc = nc_max.min(n - jc);
        for pc in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - pc);
            let write = write.for_block(pc, kc, k);
            let onto = write.onto.skip_cols(jc);
            // SAFETY: rows pc .. pc + kc, columns jc .. jc + nc are inside `b`.
            unsafe { K::pack(Block::columns_of(b, [pc, jc], [kc, nc]), K::NR, packed_b) };
            for ic in (0..m).step_by(mc_max) {
                let mc = mc_max.min(m - ic);
                // SAFETY: rows ic .. ic + mc, columns pc .. pc + kc are inside `a`.
                unsafe { K::pack(Block::rows_of(a, [ic, pc], [mc, kc]), K::MR, packed_a) };
                let b_panels = packed_b.chunks_exact(K::NR * kc);
                for (jr, b_panel) in (0..nc).step_by(K::NR).zip(b_panels) {
                    let a_panels = packed_a.chunks_exact(K::MR * kc);
                    for (ir, a_panel) in (0..mc).step_by(K::MR).zip(a_panels) {
                        let tile = c.tile(ic + ir, jc + jr, K::MR.min(mc - ir), K::NR.min(nc - jr));
                        // SAFETY: the tile lies inside `c`; the caller vouches for the processor.
                        let write = Write { onto: onto.skip_cols(jr), ..write };
                        unsafe { K::tile(a_panel, b_panel, write, tile) };
                    }
                }
            }
        }
    }
}

/// The portable 4 x 8 kernel in plain Rust, for `f64` and for processors without AVX2/FMA.
struct Portable;

impl<F: Float> Kernel<F> for Portable {
    const MR: usize = 4;
    const NR: usize = 8;

    unsafe fn tile(a: &[F], b: &[F], write: Write<F>, c: Tile<F>) {
        let mut acc = [[F::zero(); 8]; 4];
        for (a, b) in a.chunks_exact(4).zip(b.chunks_exact(8)) {
            for (row, &x) in acc.iter_mut().zip(a) {
                for (sum, &y) in row.iter_mut().zip(b) {
                    *sum += x * y;
                }
            }
        }
        for (i, row) in acc.iter().enumerate().take(c.rows) {
            for (j, &sum) in row.iter().enumerate().take(c.cols) {
                let out = c.at(i, j);
                // SAFETY: (i, j) is inside the tile, and column j of a bias, which the caller
                // vouches for.
                unsafe {
                    let value = match write.onto {
                        Onto::Nothing => write.alpha * sum,
                        Onto::Scaled(beta) => write.alpha * sum + beta * *out,
                        Onto::Bias(bias) => write.alpha * sum + *bias.add(j),
                    };
                    *out = if write.relu { crate::layers::relu(value) } else { value };
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The 6 x 16 `f32` kernel for AVX2 and FMA.

    use std::arch::x86_64::*;

    use super::{Block, Kernel, MatMut, Onto, Tile, Write, gather_panel, pack_adjacent};

    /// Six rows by two 8-lane vectors: twelve accumulators, two for `b` and one broadcast
    /// of `a` fill fifteen of the sixteen vector registers.
    pub(super) struct Avx2Fma;

    impl Kernel<f32> for Avx2Fma {
        const MR: usize = 6;
        const NR: usize = 16;

        unsafe fn pack(block: Block<f32>, width: usize, dst: &mut [f32]) {
            // SAFETY: forwarded from the caller: AVX2 is present and the block is readable.
            unsafe {
                match width {
                    6 => pack_avx2::<6>(block, dst),
                    _ => pack_avx2::<16>(block, dst),
                }
            }
        }

        unsafe fn tile(a: &[f32], b: &[f32], write: Write<f32>, c: Tile<f32>) {
            // SAFETY: forwarded from the caller: AVX2 and FMA are present and the tile is valid.
            unsafe {
                match c.rows {
                    6 => rows::<6>(a, b, write, c),
                    5 => rows::<5>(a, b, write, c),
                    4 => rows::<4>(a, b, write, c),
                    3 => rows::<3>(a, b, write, c),
                    2 => rows::<2>(a, b, write, c),
                    _ => rows::<1>(a, b, write, c),
                }
            }
        }
    }

    /// [`super::pack`] compiled for AVX2, with lines that run along the depth (a row-major
    /// `a`, a transposed `b`) transposed eight by eight in registers rather than gathered one
    /// element at a time.
    ///
    /// # Safety
    /// As [`super::pack`], and the processor supports AVX2.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn pack_avx2<const W: usize>(block: Block<f32>, dst: &mut [f32]) {
        if block.line_stride == 1 {
            // SAFETY: forwarded.
            unsafe { pack_adjacent::<f32, W>(block, dst) };
            return;
        }
        let panels = dst.chunks_exact_mut(W * block.depth).zip(block.panels(W));
        for (panel, (count, base)) in panels {
            if block.depth_stride == 1 && count == W {
                // SAFETY: the panel's lines are in the block, and run along the depth.
                unsafe { transpose_panel::<W>(base, block, panel) };
            } else {
                // SAFETY: the panel's lines are in the block.
                unsafe { gather_panel::<f32, W>(base, block, count, panel) };
            }
        }
    }

    /// Packs a full panel of `W` lines (6 or 16) whose elements are adjacent along the depth:
    /// eight depth steps of up to eight lines are loaded as eight vectors and transposed, so
    /// each vector holds one depth step's lines.
    ///
    /// # Safety
    /// Every element `(l, p)` for `l < W`, `p < block.depth` is at `base + l * line_stride + p`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn transpose_panel<const W: usize>(base: *const f32, block: Block<f32>, panel: &mut [f32]) {
        let depth = block.depth;
        let whole = depth - depth % 8;
        for p0 in (0..whole).step_by(8) {
            for g in (0..W).step_by(8) {
                let lines = 8.min(W - g);
                let mut rows = [_mm256_setzero_ps(); 8];
                for (l, row) in rows.iter_mut().enumerate().take(lines) {
                    let at = (g + l) as isize * block.line_stride + p0 as isize;
                    // SAFETY: elements (g + l, p0 .. p0 + 8) are in the block, adjacent.
                    *row = unsafe { _mm256_loadu_ps(base.wrapping_offset(at)) };
                }
                for (p, step) in transpose8(rows).into_iter().enumerate() {
                    let at = (p0 + p) * W + g;
                    // Eight lanes are stored even for a group of six lines: the two extra
                    // lanes land on the next step's first two, written after this one. Only
                    // past the panel's end do the extra lanes have to be left out.
                    if at + 8 <= panel.len() {
                        // SAFETY: `panel[at .. at + 8]` exists.
                        unsafe { _mm256_storeu_ps(panel.as_mut_ptr().add(at), step) };
                    } else {
                        let mut lanes = [0.0; 8];
                        // SAFETY: `lanes` holds eight values.
                        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), step) };
                        panel[at..at + lines].copy_from_slice(&lanes[..lines]);
                    }
                }
            }
        }
        for p in whole..depth {
            for l in 0..W {
                // SAFETY: element (l, p) is in the block.
                panel[p * W + l] =
                    unsafe { *base.wrapping_offset(l as isize * block.line_stride + p as isize) };
            }
        }
    }

    /// Transposes an 8 x 8 block held as eight row vectors into eight column vectors.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let s = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        [
            _mm256_permute2f128_ps::<0x20>(s[0], s[4]),
            _mm256_permute2f128_ps::<0x20>(s[1], s[5]),
            _mm256_permute2f128_ps::<0x20>(s[2], s[6]),
            _mm256_permute2f128_ps::<0x20>(s[3], s[7]),
            _mm256_permute2f128_ps::<0x31>(s[0], s[4]),
            _mm256_permute2f128_ps::<0x31>(s[1], s[5]),
            _mm256_permute2f128_ps::<0x31>(s[2], s[6]),
            _mm256_permute2f128_ps::<0x31>(s[3], s[7]),
        ]
    }

    /// [`super::fold`] compiled with FMA, so that each element's `alpha * sum + c` is one
    /// fused multiply-add, as in [`rows`].
    ///
    /// # Safety
    /// As [`super::fold`], and the processor supports FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fold(alpha: f32, sum: &[f32], relu: bool, c: MatMut<f32>, [m, n]: [usize; 2]) {
        for (i, row) in sum.chunks_exact(n).take(m).enumerate() {
            for (j, &sum) in row.iter().enumerate() {
                let out = c.tile(i, j, 1, 1).ptr;
                // SAFETY: (i, j) is inside `c`.
                unsafe {
                    let value = alpha.mul_add(sum, *out);
                    *out = if relu { crate::layers::relu(value) } else { value };
                }
            }
        }
    }

    /// The kernel for a tile of `R <= 6` rows (`c.rows == R`), so that a partial tile at the
    /// bottom of `c` does no wasted work in its rows.
    ///
    /// # Safety
    /// As [`Kernel::tile`], with `c.rows == R`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows<const R: usize>(a: &[f32], b: &[f32], write: Write<f32>, c: Tile<f32>) {
        debug_assert!(c.rows == R && c.cols <= 16 && a.len() / 6 == b.len() / 16);
        if let Onto::Scaled(_) = write.onto {
            // Ask for the tile of c now, so that it has arrived by the time it is added to.
            for i in 0..R {
                _mm_prefetch::<_MM_HINT_T0>(c.at(i, 0).cast::<i8>());
                _mm_prefetch::<_MM_HINT_T0>(c.at(i, c.cols - 1).cast::<i8>());
            }
        }
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for (a, b) in a.chunks_exact(6).zip(b.chunks_exact(16)) {
            // SAFETY: `b` holds 16 values: lanes 0..8 and 8..16.
            let (b0, b1) = unsafe { (_mm256_loadu_ps(b.as_ptr()), _mm256_loadu_ps(b.as_ptr().add(8))) };
            for (sum, &x) in acc.iter_mut().zip(a) {
                let x = _mm256_set1_ps(x);
                sum[0] = _mm256_fmadd_ps(x, b0, sum[0]);
                sum[1] = _mm256_fmadd_ps(x, b1, sum[1]);
            }
        }

        // c = alpha * sum + onto with the multiply-add fused, then the ReLU, in the vector
        // paths as in the scalar one; `Onto::Nothing` never loads c.
        let alpha = write.alpha;
        let alpha_v = _mm256_set1_ps(alpha);
        // `x <= 0` is false for NaN, so the ReLU keeps NaN and sends -0.0 to 0.0, as ReLU does.
        let relu = |x: __m256| {
            if write.relu {
                _mm256_andnot_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(x, _mm256_setzero_ps()), x)
            } else {
                x
            }
        };
        if c.cs == 1 {
            let halves = if c.cols > 8 { 2 } else { 1 };
            let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            for (i, sum) in acc.iter().enumerate() {
                for (h, &sum) in sum.iter().enumerate().take(halves) {
                    let out = c.at(i, 8 * h);
                    let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((c.cols - 8 * h) as i32), lane);
                    let whole = c.cols >= 8 * h + 8;
                    // SAFETY: columns 8h .. min(8h + 8, cols) of row i (and of a bias) are in
                    // the tile, adjacent; a partial half is masked, and masked-off lanes are
                    // neither read nor written.
                    unsafe {
                        let load = |p: *const f32| {
                            if whole { _mm256_loadu_ps(p) } else { _mm256_maskload_ps(p, mask) }
                        };
                        let new = match write.onto {
                            Onto::Nothing => _mm256_mul_ps(alpha_v, sum),
                            Onto::Scaled(beta) => {
                                _mm256_fmadd_ps(alpha_v, sum, _mm256_mul_ps(_mm256_set1_ps(beta), load(out)))
                            }
                            Onto::Bias(bias) => _mm256_fmadd_ps(alpha_v, sum, load(bias.add(8 * h))),
                        };
                        if whole {
                            _mm256_storeu_ps(out, relu(new));
                        } else {
                            _mm256_maskstore_ps(out, mask, relu(new));
                        }
                    }
                }
            }
        } else {
            for (i, sum) in acc.iter().enumerate() {
                let mut lanes = [0.0f32; 16];
                // SAFETY: `lanes` holds 16 values.
                unsafe {
                    _mm256_storeu_ps(lanes.as_mut_ptr(), sum[0]);
                    _mm256_storeu_ps(lanes.as_mut_ptr().add(8), sum[1]);
                }
                for (j, &sum) in lanes.iter().enumerate().take(c.cols) {
                    let out = c.at(i, j);
                    // SAFETY: (i, j) is inside the tile, and column j of a bias.
                    unsafe {
                        let value = match write.onto {
                            Onto::Nothing => alpha * sum,
                            Onto::Scaled(beta) => alpha.mul_add(sum, beta * *out),
                            Onto::Bias(bias) => alpha.mul_add(sum, *bias.add(j)),
                        };
                        *out = if write.relu { crate::layers::relu(value) } else { value };
                    }
                }
            }
        }
    }
}
