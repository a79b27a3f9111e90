//! `linalg::gemm` against the definition (a triple loop in f64), over many shapes, memory
//! layouts (transposed, stepped and reversed views) and scalars, in f64 and in f32.

use ferronet::Float;
use ferronet::linalg::{GemmScratch, gemm};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How a matrix lies in memory. Each gives a view of the same logical matrix.
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    /// A column-major buffer seen through `.t()`, as `x.t()` in the backward pass.
    Transposed,
    /// Every other row and column of a larger buffer (NaN in between).
    Stepped,
    /// Rows and columns reversed: negative strides.
    Reversed,
}

const LAYOUTS: [Layout; 4] = [Layout::RowMajor, Layout::Transposed, Layout::Stepped, Layout::Reversed];

/// A buffer that holds `m` in `layout`: `view(layout, &buffer)` is `m` again.
fn store<T: Float>(m: &Array2<T>, layout: Layout) -> Array2<T> {
    let (r, c) = m.dim();
    match layout {
        Layout::RowMajor => m.to_owned(),
        Layout::Transposed => m.t().as_standard_layout().into_owned(),
        Layout::Stepped => {
            let mut big = Array2::from_elem((2 * r, 2 * c), T::nan());
            big.slice_mut(s![..;2, ..;2]).assign(m);
            big
        }
        Layout::Reversed => m.slice(s![..;-1, ..;-1]).to_owned(),
    }
}

fn view<T>(layout: Layout, buffer: &Array2<T>) -> ArrayView2<'_, T> {
    match layout {
        Layout::RowMajor => buffer.view(),
        Layout::Transposed => buffer.t(),
        Layout::Stepped => buffer.slice(s![..;2, ..;2]),
        Layout::Reversed => buffer.slice(s![..;-1, ..;-1]),
    }
}

fn view_mut<T>(layout: Layout, buffer: &mut Array2<T>) -> ArrayViewMut2<'_, T> {
    match layout {
        Layout::RowMajor => buffer.view_mut(),
        Layout::Transposed => buffer.view_mut().reversed_axes(),
        Layout::Stepped => buffer.slice_mut(s![..;2, ..;2]),
        Layout::Reversed => buffer.slice_mut(s![..;-1, ..;-1]),
    }
}

/// One product: `a`, `b` and `c` in f64 and a choice of layouts and scalars.
struct Case {
    a: Array2<f64>,
    b: Array2<f64>,
    c: Array2<f64>,
    alpha: f64,
    beta: f64,
    layouts: [Layout; 3],
}

impl Case {
    fn new(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        beta: f64,
        layouts: [Layout; 3],
        rng: &mut StdRng,
    ) -> Self {
        let mut random = |r, c| Array2::from_shape_simple_fn((r, c), || rng.random_range(-1.0..1.0));
        let (a, b) = (random(m, k), random(k, n));
        // beta == 0 must not read c: NaN there would show.
        let c = if beta == 0.0 { Array2::from_elem((m, n), f64::NAN) } else { random(m, n) };
        Case { a, b, c, alpha, beta, layouts }
    }

    /// `gemm` in `T`, through the case's layouts, as f64.
    fn gemm<T: Float>(&self, scratch: &mut GemmScratch<T>) -> Array2<f64> {
        let [la, lb, lc] = self.layouts;
        let cast = |x: &Array2<f64>| x.mapv(T::from_f64);
        let (a, b) = (store(&cast(&self.a), la), store(&cast(&self.b), lb));
        let mut c = store(&cast(&self.c), lc);
        let (alpha, beta) = (T::from_f64(self.alpha), T::from_f64(self.beta));
        gemm(alpha, view(la, &a), view(lb, &b), beta, view_mut(lc, &mut c), scratch).unwrap();
        view(lc, &c).mapv(|x| Float::to_f64(x))
    }

    /// Checks `got` against the definition computed in f64 from the same inputs rounded to a
    /// type with unit roundoff `u`: each element may be off by the error bound of a sum of
    /// `k + 2` rounded terms, `(k + 4) u (|alpha| sum |a||b| + |beta c|)`.
    fn check(&self, got: &Array2<f64>, u: f64) {
        let (m, k) = self.a.dim();
        let n = self.b.ncols();
        let what = format!(
            "{m}x{k} * {k}x{n}, alpha {}, beta {}, layouts {:?}",
            self.alpha, self.beta, self.layouts
        );
        assert_eq!(got.dim(), (m, n), "{what}");
        for i in 0..m {
            for j in 0..n {
                let (mut sum, mut size) = (0.0, 0.0);
                for p in 0..k {
                    sum += self.a[[i, p]] * self.b[[p, j]];
                    size += (self.a[[i, p]] * self.b[[p, j]]).abs();
                }
                let (mut expected, mut bound) = (self.alpha * sum, self.alpha.abs() * size);
                if self.beta != 0.0 {
                    expected += self.beta * self.c[[i, j]];
                    bound += (self.beta * self.c[[i, j]]).abs();
                }
                let tol = (k as f64 + 4.0) * u * bound + f64::MIN_POSITIVE;
                let g = got[[i, j]];
                assert!(
                    (g - expected).abs() <= tol,
                    "{what}: c[{i}][{j}] = {g:e}, expected {expected:e} (tolerance {tol:e})"
                );
            }
        }
    }

    fn check_both(&self) {
        self.check(&self.gemm::<f64>(&mut GemmScratch::new()), f64::EPSILON / 2.0);
        self.check(&self.gemm::<f32>(&mut GemmScratch::new()), f64::from(f32::EPSILON) / 2.0);
    }
}

/// The training step's products at batch 64, 128 and 256, each in the layouts it is used in:
/// forward `x W`, weight gradient `x^T G`, input gradient `G W^T`.
#[test]
fn the_training_steps_products() {
    let mut rng = StdRng::seed_from_u64(1);
    let (row, tr) = (Layout::RowMajor, Layout::Transposed);
    for batch in [64, 128, 256] {
        for (inputs, outputs) in [(784, 128), (128, 64), (64, 10)] {
            Case::new(batch, inputs, outputs, 1.0, 1.0, [row, row, row], &mut rng).check_both();
            Case::new(inputs, batch, outputs, 1.0, 1.0, [tr, row, row], &mut rng).check_both();
            Case::new(batch, outputs, inputs, 1.0, 0.0, [row, tr, row], &mut rng).check_both();
        }
    }
}

/// Small and odd sizes around every tile and block edge, in every layout of each operand.
#[test]
fn odd_shapes_in_every_layout() {
    let mut rng = StdRng::seed_from_u64(2);
    let sizes = [1, 2, 3, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33];
    let mut count = 0;
    for (index, &m) in sizes.iter().enumerate() {
        for &n in &sizes {
            let k = sizes[(index * 7 + n) % sizes.len()];
            let layouts = [LAYOUTS[count % 4], LAYOUTS[(count / 4) % 4], LAYOUTS[(count / 16) % 4]];
            Case::new(m, k, n, 1.0, 1.0, layouts, &mut rng).check_both();
            count += 1;
        }
    }
    // Every combination of layouts at least once, on a shape with partial tiles everywhere.
    for la in LAYOUTS {
        for lb in LAYOUTS {
            for lc in LAYOUTS {
                Case::new(13, 11, 19, 1.0, 1.0, [la, lb, lc], &mut rng).check_both();
                Case::new(7, 300, 21, 1.0, 0.0, [la, lb, lc], &mut rng).check_both();
            }
        }
    }
}

/// Depths beyond one block (the sum is folded into `c` block by block), and tall and wide
/// shapes beyond one row or column block.
#[test]
fn large_depths_and_many_blocks() {
    let mut rng = StdRng::seed_from_u64(3);
    let row = Layout::RowMajor;
    for (m, k, n) in [(9, 257, 17), (5, 513, 3), (20, 1000, 40), (200, 20, 9), (3, 20, 2100), (97, 70, 33)] {
        Case::new(m, k, n, 1.0, 1.0, [row, row, row], &mut rng).check_both();
        Case::new(m, k, n, -0.5, 0.0, [Layout::Transposed, Layout::Stepped, row], &mut rng).check_both();
    }
}

#[test]
fn alpha_and_beta() {
    let mut rng = StdRng::seed_from_u64(4);
    let layouts = [Layout::RowMajor, Layout::Transposed, Layout::RowMajor];
    for alpha in [1.0, -1.0, 0.5, 3.0] {
        for beta in [0.0, 1.0, -1.0, 0.25, 2.0] {
            Case::new(10, 23, 18, alpha, beta, layouts, &mut rng).check_both();
            Case::new(10, 23, 18, alpha, beta, [Layout::Stepped; 3], &mut rng).check_both();
        }
    }
}

/// Depth zero or alpha zero: `c = beta c`, zero for beta zero even over NaN; no row or no
/// column: nothing to do.
#[test]
fn degenerate_shapes() {
    let mut scratch = GemmScratch::<f32>::new();
    let a = Array2::<f32>::zeros((3, 0));
    let b = Array2::<f32>::zeros((0, 4));
    let mut c = Array2::from_elem((3, 4), 2.0f32);
    gemm(1.0, a.view(), b.view(), 0.5, c.view_mut(), &mut scratch).unwrap();
    assert_eq!(c, Array2::from_elem((3, 4), 1.0));
    c.fill(f32::NAN);
    gemm(1.0, a.view(), b.view(), 0.0, c.view_mut(), &mut scratch).unwrap();
    assert_eq!(c, Array2::<f32>::zeros((3, 4)));

    let a = Array2::from_elem((3, 5), f32::NAN);
    let b = Array2::from_elem((5, 4), 1.0f32);
    c.fill(3.0);
    gemm(0.0, a.view(), b.view(), 1.0, c.view_mut(), &mut scratch).unwrap();
    assert_eq!(c, Array2::from_elem((3, 4), 3.0));

    let mut empty = Array2::<f32>::zeros((0, 4));
    gemm(1.0, Array2::zeros((0, 5)).view(), b.view(), 0.0, empty.view_mut(), &mut scratch).unwrap();
    let mut empty = Array2::<f32>::zeros((3, 0));
    gemm(1.0, a.view(), Array2::zeros((5, 0)).view(), 0.0, empty.view_mut(), &mut scratch).unwrap();

    let mut one = Array2::from_elem((1, 1), f64::NAN);
    gemm(
        2.0,
        ndarray::array![[3.0]].view(),
        ndarray::array![[4.0]].view(),
        0.0,
        one.view_mut(),
        &mut GemmScratch::new(),
    )
    .unwrap();
    assert_eq!(one[[0, 0]], 24.0);
}

#[test]
fn mismatched_shapes_are_an_error() {
    let mut c = Array2::<f32>::zeros((2, 2));
    let error = gemm(
        1.0,
        Array2::zeros((2, 3)).view(),
        Array2::zeros((4, 2)).view(),
        0.0,
        c.view_mut(),
        &mut GemmScratch::new(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "gemm: the right factor of a [2, 3] matrix: expected shape [3, 2], found [4, 2]"
    );
}

/// Each element is summed in an order fixed by the depth alone: the same bits run after run,
/// with a fresh or a used scratch, for any layout, and for a row whether it is computed
/// alone or inside a larger product.
#[test]
fn results_do_not_depend_on_layout_scratch_or_neighbours() {
    let mut rng = StdRng::seed_from_u64(5);
    let a = Array2::from_shape_simple_fn((64, 784), || rng.random_range(-1.0f32..1.0));
    let b = Array2::from_shape_simple_fn((784, 128), || rng.random_range(-1.0f32..1.0));
    let product = |a: ArrayView2<f32>, b: ArrayView2<f32>, scratch: &mut GemmScratch<f32>| {
        let mut c = Array2::from_elem((a.nrows(), b.ncols()), f32::NAN);
        gemm(1.0, a, b, 0.0, c.view_mut(), scratch).unwrap();
        c
    };
    let mut scratch = GemmScratch::new();
    let first = product(a.view(), b.view(), &mut scratch);
    let grown = scratch.len();
    for _ in 0..3 {
        assert_eq!(product(a.view(), b.view(), &mut scratch), first);
    }
    assert_eq!(scratch.len(), grown, "the scratch grows only once for the same shapes");

    let a_t = a.t().as_standard_layout().into_owned();
    let b_t = b.t().as_standard_layout().into_owned();
    assert_eq!(product(a_t.t(), b_t.t(), &mut GemmScratch::new()), first);
    for i in [0, 5, 6, 37, 63] {
        let row = product(a.slice(s![i..i + 1, ..]), b.view(), &mut scratch);
        assert_eq!(row.row(0), first.row(i), "row {i}");
    }
    let some_columns = product(a.view(), b.slice(s![.., 3..21]), &mut scratch);
    assert_eq!(some_columns, first.slice(s![.., 3..21]));
}

// `affine` adds the bias in the kernel's write and the ReLU after the last depth block: the same
// bits as broadcasting the bias, `gemm` with beta = 1, and a ReLU pass, for a contiguous bias
// and for a strided one, at depths of one block and of several.
#[test]
fn affine_gives_the_bits_of_bias_then_gemm_then_relu() {
    use ferronet::linalg::affine;
    use ndarray::Array1;
    let mut rng = StdRng::seed_from_u64(9);
    for (m, k, n) in [(64, 784, 128), (7, 30, 21), (3, 600, 5), (100, 20, 3)] {
        let a = Array2::from_shape_fn((m, k), |_| rng.random::<f32>() - 0.5);
        let b = Array2::from_shape_fn((k, n), |_| rng.random::<f32>() - 0.5);
        let bias2 = Array1::from_shape_fn(2 * n, |_| rng.random::<f32>() - 0.5);
        let bias = bias2.slice(s![..;2]);
        for relu in [false, true] {
            let mut expected = Array2::zeros((m, n));
            expected.assign(&bias);
            gemm(1.0, a.view(), b.view(), 1.0, expected.view_mut(), &mut GemmScratch::new()).unwrap();
            if relu {
                expected.mapv_inplace(|x| if x <= 0.0 { 0.0 } else { x });
            }
            let contiguous = bias.to_owned();
            for bias in [bias.reborrow(), contiguous.view()] {
                let mut got = Array2::from_elem((m, n), f32::NAN);
                affine(a.view(), b.view(), bias, relu, got.view_mut(), &mut GemmScratch::new()).unwrap();
                let same = expected.iter().zip(&got).all(|(e, g)| e.to_bits() == g.to_bits());
                assert!(same, "{m}x{k}x{n}, relu {relu}, bias strides {:?}", bias.strides());
            }
        }
    }
}

#[test]
fn affine_with_no_depth_is_the_bias_and_a_wrong_bias_is_an_error() {
    use ferronet::linalg::affine;
    let (a, b) = (Array2::<f32>::zeros((2, 0)), Array2::<f32>::zeros((0, 3)));
    let mut c = Array2::from_elem((2, 3), f32::NAN);
    affine(
        a.view(),
        b.view(),
        ndarray::array![1.0, -2.0, 0.5].view(),
        true,
        c.view_mut(),
        &mut GemmScratch::new(),
    )
    .unwrap();
    assert_eq!(c, ndarray::array![[1.0, 0.0, 0.5], [1.0, 0.0, 0.5]]);
    let error = affine(
        a.view(),
        b.view(),
        ndarray::array![1.0, 2.0].view(),
        false,
        c.view_mut(),
        &mut GemmScratch::new(),
    );
    assert!(matches!(error, Err(ferronet::Error::Shape { .. })), "{error:?}");
}
