//! The losses: values from ../shared/cases/pitfalls.md (P1-P5) and closed forms.
//! tests/reference.rs checks them further against values computed by JAX.

use ferronet::layers::{Layer, Mode, Softmax};
use ferronet::loss::{BinaryCrossEntropy, CategoricalCrossEntropy, Loss, SoftmaxCrossEntropy, TargetBatch};
use ndarray::{Array2, ArrayD, array};

/// The loss and its gradient.
fn evaluate<F: ferronet::Float>(
    loss: &dyn Loss<F>,
    z: &Array2<F>,
    targets: TargetBatch<F>,
) -> (F, ArrayD<F>) {
    let mut grad = ArrayD::zeros(vec![0]);
    let value = loss.loss(z.view(), targets, Some(&mut grad)).unwrap();
    (value, grad)
}

fn loss_and_grad<F: ferronet::Float>(z: &Array2<F>, targets: TargetBatch<F>) -> (F, ArrayD<F>) {
    evaluate(&SoftmaxCrossEntropy, z, targets)
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

fn cce<F: ferronet::Float>(p: &Array2<F>, targets: TargetBatch<F>) -> (F, ArrayD<F>) {
    evaluate(&CategoricalCrossEntropy, p, targets)
}

// P3: Keras clips to [1e-7, 1 - 1e-7]; a target whose probability is 0 costs -ln(1e-7).
// Python: -math.log(1e-7) = 16.11809565095832; in f32, -ln(f32(1e-7)) = 16.118095.
#[test]
fn p3_zero_probability_on_the_target_costs_minus_ln_1e_minus_7() {
    let (loss, grad) = cce(&array![[1.0f64, 0.0, 0.0]], TargetBatch::Classes(&[1]));
    assert_eq!(loss, 16.11809565095832);
    assert!(grad.iter().all(|g| g.is_finite()), "{grad}");
    let (loss, _) = cce(&array![[1.0f32, 0.0, 0.0]], TargetBatch::Classes(&[1]));
    assert_eq!(loss, 16.118095);
}

// P3: a perfect prediction is clipped to 1 - 1e-7: -math.log(1 - 1e-7) = 1.0000000494736474e-07.
// In f32, 1 - 1e-7 rounds to 1 - 2^-23 and -ln of it is 1.1920929e-7.
#[test]
fn p3_a_perfect_prediction_costs_the_upper_clip() {
    let (loss, grad) = cce(&array![[1.0f64, 0.0, 0.0]], TargetBatch::Classes(&[0]));
    assert_eq!(loss, 1.0000000494736474e-07);
    assert!(grad.iter().all(|g| g.is_finite()), "{grad}");
    let (loss, _) = cce(&array![[1.0f32, 0.0, 0.0]], TargetBatch::Classes(&[0]));
    assert_eq!(loss, 1.1920929e-7);
}

// The clip-mask convention: where the clip moves p, the derivative of clip is 0.
#[test]
fn cce_gradient_is_zero_where_the_clip_moved_the_probability() {
    let (_, grad) = cce(&array![[1.0f64, 0.0, 0.0], [0.0, 1.0, 0.0]], TargetBatch::Classes(&[0, 0]));
    assert_eq!(grad.as_slice().unwrap(), &[0.0; 6]);
}

// Inside the clip: dL/dp = -y / (N p). p = 0.75 on the target, N = 2: -1 / (2 * 0.75) = -2/3;
// loss -ln(0.75) / 2 + -ln(0.5) / 2 = (0.2876820724517809 + 0.6931471805599453) / 2.
#[test]
fn cce_gradient_is_minus_target_over_n_times_probability() {
    let p = array![[0.25f64, 0.75], [0.5, 0.5]];
    let (loss, grad) = cce(&p, TargetBatch::Classes(&[1, 0]));
    assert!((loss - 0.4904146265058631).abs() < 1e-15, "{loss}");
    let expected = [0.0, -2.0 / 3.0, -1.0, 0.0];
    for (g, e) in grad.iter().zip(expected) {
        assert!((g - e).abs() < 1e-15, "{grad}");
    }
}

// Soft targets weigh every log: y = [0.2, 0.8], p = [0.5, 0.5]: -(0.2 + 0.8) ln 0.5 = ln 2,
// gradient [-0.2 / 0.5, -0.8 / 0.5] = [-0.4, -1.6].
#[test]
fn cce_soft_targets_weigh_every_class() {
    let y = array![[0.2f64, 0.8]];
    let (loss, grad) = cce(&array![[0.5f64, 0.5]], TargetBatch::Probabilities(y.view()));
    assert!((loss - std::f64::consts::LN_2).abs() < 1e-16, "{loss}");
    assert!((grad[[0, 0]] + 0.4).abs() < 1e-16 && (grad[[0, 1]] + 1.6).abs() < 1e-15, "{grad}");
}

#[test]
fn cce_class_indices_and_one_hot_rows_agree() {
    let p = array![[0.2f64, 0.7, 0.1], [0.5, 0.25, 0.25]];
    let one_hot = array![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let (a, ga) = cce(&p, TargetBatch::Classes(&[1, 2]));
    let (b, gb) = cce(&p, TargetBatch::Probabilities(one_hot.view()));
    assert_eq!(a, b);
    assert_eq!(ga, gb);
}

#[test]
fn cce_a_nan_probability_gives_a_nan_loss_not_a_clipped_one() {
    let (loss, _) = cce(&array![[f64::NAN, 0.5]], TargetBatch::Classes(&[0]));
    assert!(loss.is_nan());
}

#[test]
fn cce_folds_in_no_activation() {
    assert_eq!(Loss::<f32>::fused_activation(&CategoricalCrossEntropy), None);
}

#[test]
fn cce_targets_that_do_not_fit_are_errors() {
    let p = Array2::<f32>::from_elem((2, 3), 1.0 / 3.0);
    let wide = Array2::<f32>::zeros((2, 4));
    let loss = CategoricalCrossEntropy;
    assert!(matches!(
        loss.loss(p.view(), TargetBatch::Classes(&[0]), None),
        Err(ferronet::Error::Shape { .. })
    ));
    assert!(matches!(
        loss.loss(p.view(), TargetBatch::Classes(&[0, 3]), None),
        Err(ferronet::Error::Data(_))
    ));
    let err = loss.loss(p.view(), TargetBatch::Probabilities(wide.view()), None);
    assert!(matches!(err, Err(ferronet::Error::Shape { .. })));
}

fn bce<F: ferronet::Float>(z: &Array2<F>, targets: TargetBatch<F>) -> (F, ArrayD<F>) {
    evaluate(&BinaryCrossEntropy, z, targets)
}

// l(z, y) = max(z, 0) - z y + ln(1 + exp(-|z|)): l(1e4, 1) = 0 and l(-1e4, 1) = 1e4, mean 5000;
// gradient (sigmoid(z) - y) / N = [0, -1/2]. A naive ln(sigmoid(-1e4)) is ln 0 = -inf.
#[test]
fn bce_logits_of_plus_minus_1e4_give_exact_finite_losses() {
    let (loss, grad) = bce(&array![[1e4f64], [-1e4]], TargetBatch::Classes(&[1, 1]));
    assert_eq!(loss, 5000.0);
    assert_eq!(grad.as_slice().unwrap(), &[0.0, -0.5]);
    let (loss, grad) = bce(&array![[1e4f32], [-1e4]], TargetBatch::Classes(&[1, 1]));
    assert_eq!(loss, 5000.0);
    assert_eq!(grad.as_slice().unwrap(), &[0.0, -0.5]);
}

// Python: math.log1p(math.exp(-2)) = 0.1269280110429725 (z = 2, y = 1) and
// 1.5 + math.log1p(math.exp(-1.5)) = 1.7014132779827524 (z = -1.5, y = 1); the mean of the two.
#[test]
fn bce_matches_minus_log_sigmoid_of_the_logit() {
    let (loss, _) = bce(&array![[2.0f64], [-1.5]], TargetBatch::Classes(&[1, 1]));
    assert!((loss - (0.1269280110429725 + 1.7014132779827524) / 2.0).abs() < 1e-15, "{loss}");
}

// z = 40, y = 1: the gradient is sigmoid(40) - 1 = -sigmoid(-40) = -4.248354255291589e-18.
// Computed as a difference from 1 it would be exactly 0.
#[test]
fn bce_gradient_of_a_confident_right_output_keeps_its_precision() {
    let (_, grad) = bce(&array![[40.0f64]], TargetBatch::Classes(&[1]));
    assert!((grad[[0, 0]] / -4.248354255291589e-18 - 1.0).abs() < 1e-15, "{grad}");
}

// A soft target 0.25 at z = 0: -0.25 ln(1/2) - 0.75 ln(1/2) = ln 2, gradient 1/2 - 1/4.
#[test]
fn bce_soft_target_between_0_and_1() {
    let y = array![[0.25f64]];
    let (loss, grad) = bce(&array![[0.0f64]], TargetBatch::Probabilities(y.view()));
    assert_eq!(loss, std::f64::consts::LN_2);
    assert_eq!(grad[[0, 0]], 0.25);
}

// Multi-label, 2 samples x 3 outputs, logits 0, every target 1: each output costs ln 2, the
// mean is over all 6 outputs, and each gradient is (1/2 - 1) / 6 = -1/12.
#[test]
fn bce_mean_is_over_every_output_of_every_sample() {
    let y = Array2::<f64>::ones((2, 3));
    let (loss, grad) = bce(&Array2::zeros((2, 3)), TargetBatch::Probabilities(y.view()));
    assert!((loss - std::f64::consts::LN_2).abs() < 2e-16, "{loss}");
    assert!(grad.iter().all(|&g| (g + 1.0 / 12.0).abs() < 1e-17), "{grad}");
}

#[test]
fn bce_one_output_reads_a_class_index_as_the_label_itself() {
    let z = array![[0.3f64], [-1.2]];
    let y = array![[1.0], [0.0]];
    assert_eq!(bce(&z, TargetBatch::Classes(&[1, 0])), bce(&z, TargetBatch::Probabilities(y.view())));
}

#[test]
fn bce_several_outputs_read_a_class_index_as_a_one_hot_row() {
    let z = array![[0.3f64, -0.7, 2.0], [-1.2, 0.1, 0.0]];
    let y = array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
    assert_eq!(bce(&z, TargetBatch::Classes(&[2, 0])), bce(&z, TargetBatch::Probabilities(y.view())));
}

#[test]
fn bce_targets_that_are_not_binary_labels_are_errors() {
    let one = Array2::<f32>::zeros((1, 1));
    let loss = BinaryCrossEntropy;
    let err = loss.loss(one.view(), TargetBatch::Classes(&[2]), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data set: binary_cross_entropy: class index 2 is out of range for 2 classes"
    );
    let y = array![[1.5f32]];
    let err = loss.loss(one.view(), TargetBatch::Probabilities(y.view()), None).unwrap_err();
    assert_eq!(err.to_string(), "data set: binary_cross_entropy: target 1.5 at [0, 0] is outside [0, 1]");
}

#[test]
fn bce_targets_of_another_shape_are_errors() {
    let z = Array2::<f32>::zeros((2, 3));
    let narrow = Array2::<f32>::zeros((2, 1));
    let loss = BinaryCrossEntropy;
    let err = loss.loss(z.view(), TargetBatch::Probabilities(narrow.view()), None);
    assert!(matches!(err, Err(ferronet::Error::Shape { .. })));
    assert!(matches!(
        loss.loss(z.view(), TargetBatch::Classes(&[0]), None),
        Err(ferronet::Error::Shape { .. })
    ));
}

// Logit > 0 predicts 1. [0.5, -0.5, 0.0] against [1, 1, 0]: right, wrong, right (0 predicts 0).
#[test]
fn bce_correct_thresholds_logits_at_zero() {
    let z = array![[0.5f64], [-0.5], [0.0]];
    assert_eq!(BinaryCrossEntropy.correct(z.view(), TargetBatch::Classes(&[1, 1, 0])).unwrap(), 2);
}

// Multi-label: a sample is right only when every output is: [+, -] vs [1, 0] right; [+, +] vs [1, 0] wrong.
#[test]
fn bce_correct_needs_every_output_of_a_sample_right() {
    let z = array![[1.0f64, -1.0], [1.0, 1.0]];
    let y = array![[1.0, 0.0], [1.0, 0.0]];
    assert_eq!(BinaryCrossEntropy.correct(z.view(), TargetBatch::Probabilities(y.view())).unwrap(), 1);
}

#[test]
fn bce_folds_in_the_sigmoid() {
    assert_eq!(Loss::<f32>::fused_activation(&BinaryCrossEntropy), Some("sigmoid"));
}
