//! The fused softmax cross-entropy: values from ../shared/cases/pitfalls.md (P1, P2, P4, P5)
//! and closed forms.

use ferronet::layers::{Layer, Mode, Softmax};
use ferronet::loss::{Loss, SoftmaxCrossEntropy, TargetBatch};
use ndarray::{Array2, ArrayD, array};

fn loss_and_grad<F: ferronet::Float>(z: &Array2<F>, targets: TargetBatch<F>) -> (F, ArrayD<F>) {
    let mut grad = ArrayD::zeros(vec![0]);
    let loss = SoftmaxCrossEntropy.loss(z.view(), targets, Some(&mut grad)).unwrap();
    (loss, grad)
}

#[test]
#[allow(clippy::excessive_precision)] // the inputs as pitfalls.md gives them
fn p1_softmax_of_large_logits_is_finite_and_sums_to_one_f32() {
    let x = array![[-249.873093f32, -424.126709, -460.292542, 378.097443, -292.614532]].into_dyn();
    let mut y = ArrayD::zeros(vec![0]);
    Softmax::new().forward(x.view(), &mut y, Mode::Infer).unwrap();
    assert_eq!(y.as_slice().unwrap(), &[0.0, 0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn p1_softmax_of_large_logits_f64() {
    let x = array![[-249.873093f64, -424.126709, -460.292542, 378.097443, -292.614532]].into_dyn();
    let mut y = ArrayD::zeros(vec![0]);
    Softmax::new().forward(x.view(), &mut y, Mode::Infer).unwrap();
    let y = y.as_slice().unwrap();
    assert!((y[0] / 1.887e-273 - 1.0).abs() < 1e-3, "{}", y[0]);
    assert_eq!(y[1], 0.0);
    assert_eq!(y[2], 0.0);
    assert_eq!(y[3], 1.0);
    assert!((y[4] / 5.170e-292 - 1.0).abs() < 1e-3, "{}", y[4]);
}

#[test]
fn p2_huge_equal_logits_give_ln_2_in_f32() {
    let (loss, _) = loss_and_grad(&array![[1e8f32, 1e8]], TargetBatch::Classes(&[1]));
    assert_eq!(loss, std::f32::consts::LN_2);
}

#[test]
fn logits_of_1e4_give_exact_finite_losses() {
    // The target logit 2e4 below the largest: the loss is the difference, exactly.
    let (loss, grad) = loss_and_grad(&array![[1e4f64, -1e4, 0.0]], TargetBatch::Classes(&[1]));
    assert_eq!(loss, 2e4);
    assert_eq!(grad.as_slice().unwrap(), &[1.0, -1.0, 0.0]);
    let (loss, _) = loss_and_grad(&array![[1e4f32, -1e4, 0.0]], TargetBatch::Classes(&[0]));
    assert_eq!(loss, 0.0);
}

#[test]
fn p4_mean_over_the_batch_carries_one_over_n() {
    let (loss, grad) = loss_and_grad(&Array2::<f64>::zeros((2, 3)), TargetBatch::Classes(&[0, 2]));
    assert!((loss - 1.0986122886681098).abs() < 1e-15);
    let expected = [-1.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, -1.0 / 3.0];
    for (g, e) in grad.iter().zip(expected) {
        assert!((g - e).abs() < 1e-15, "{grad}");
    }
}

#[test]
fn p5_a_one_sample_batch_is_a_mean_over_one() {
    let (loss, grad) = loss_and_grad(&Array2::<f64>::zeros((1, 3)), TargetBatch::Classes(&[0]));
    assert!((loss - 1.0986122886681098).abs() < 1e-15);
    let expected = [-2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
    for (g, e) in grad.iter().zip(expected) {
        assert!((g - e).abs() < 1e-15, "{grad}");
    }
}

#[test]
fn class_indices_and_one_hot_rows_agree() {
    let z = array![[0.5f64, -1.0, 2.0], [3.0, 0.0, -2.0]];
    let one_hot = array![[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]];
    let (a, ga) = loss_and_grad(&z, TargetBatch::Classes(&[2, 1]));
    let (b, gb) = loss_and_grad(&z, TargetBatch::Probabilities(one_hot.view()));
    assert!((a - b).abs() < 1e-15);
    for (x, y) in ga.iter().zip(gb.iter()) {
        assert!((x - y).abs() < 1e-15);
    }
}

#[test]
fn label_out_of_range_is_an_error() {
    let err = SoftmaxCrossEntropy.loss(Array2::<f32>::zeros((1, 3)).view(), TargetBatch::Classes(&[3]), None);
    assert!(err.unwrap_err().to_string().contains("class index 3 is out of range for 3 classes"));
}

#[test]
fn target_count_mismatch_is_an_error() {
    let err = SoftmaxCrossEntropy.loss(Array2::<f32>::zeros((2, 3)).view(), TargetBatch::Classes(&[0]), None);
    assert!(matches!(err, Err(ferronet::Error::Shape { .. })));
}

#[test]
fn probability_width_mismatch_is_an_error() {
    let y = Array2::<f32>::zeros((2, 4));
    let err = SoftmaxCrossEntropy.loss(
        Array2::<f32>::zeros((2, 3)).view(),
        TargetBatch::Probabilities(y.view()),
        None,
    );
    assert!(matches!(err, Err(ferronet::Error::Shape { .. })));
}
