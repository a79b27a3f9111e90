//! Adam against the paper's Algorithm 1 (the form PyTorch uses): P6 and P7 of
//! ../shared/cases/pitfalls.md.

use ferronet::layers::{Dense, Layer};
use ferronet::optim::{Adam, AdamConfig, Optimizer};
use ndarray::array;

/// A one-weight layer (its bias gets gradient 0 and stays 0).
fn scalar(w: f64) -> Dense<f64> {
    Dense::from_weights(array![[w]], array![0.0]).unwrap()
}

fn step_with(layer: &mut Dense<f64>, adam: &mut Adam<f64>, grad: f64) -> f64 {
    layer.visit_params(&mut |p| p.grad.fill(if p.name.ends_with("weight") { grad } else { 0.0 }));
    adam.step(layer).unwrap();
    layer.weight().value[[0, 0]]
}

#[test]
fn p6_bias_correction_uses_beta_to_the_power_t() {
    let mut layer = scalar(1.0);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let expected = [0.99900000001, 0.99800000002, 0.99700000003];
    for e in expected {
        let w = step_with(&mut layer, &mut adam, 1.0);
        assert!((w - e).abs() < 1e-15, "got {w}, expected {e}");
    }
}

#[test]
fn p6_two_different_gradients() {
    let mut layer = scalar(1.0);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    step_with(&mut layer, &mut adam, 1.0);
    let w = step_with(&mut layer, &mut adam, 0.1);
    assert!((w - 0.9982591893776097).abs() < 1e-15, "{w}");
}

#[test]
fn p7_epsilon_is_added_after_bias_correction() {
    let mut layer = scalar(0.0);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let w = step_with(&mut layer, &mut adam, 1e-8);
    assert!((w - -5.0e-4).abs() < 1e-15, "{w}");
}

#[test]
fn a_zero_gradient_leaves_the_weight_exactly_unchanged() {
    let mut layer = scalar(0.25);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    assert_eq!(step_with(&mut layer, &mut adam, 0.0), 0.25);
}

#[test]
fn state_for_other_parameters_is_refused() {
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    step_with(&mut scalar(1.0), &mut adam, 1.0);
    let mut wider = Dense::<f64>::from_weights(array![[1.0, 2.0]], array![0.0, 0.0]).unwrap();
    let err = adam.step(&mut wider).unwrap_err();
    assert!(err.to_string().contains("dense.weight [1, 2]"), "{err}");
    assert_eq!(wider.weight().value, array![[1.0, 2.0]].into_dyn(), "nothing is updated on error");
}

#[test]
fn learning_rate_must_be_finite_and_positive() {
    for lr in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
        let err = Adam::<f32>::new(AdamConfig::default().with_lr(lr)).unwrap_err();
        assert!(err.to_string().contains("lr"), "{err}");
    }
}

#[test]
fn a_learning_rate_whose_first_step_overflows_f32_is_refused() {
    // lr / (1 - beta1) = 1e38 / 0.1 = 1e39 is past f32::MAX (3.4e38): the first step would make
    // weights infinite, or NaN where the moment is 0.
    let error = Adam::<f32>::new(AdamConfig::default().with_lr(1e38)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid lr: expected a number whose first step lr / (1 - beta1) is finite in the element type, \
         received lr=100000000000000000000000000000000000000"
    );
    assert!(Adam::<f64>::new(AdamConfig::default().with_lr(1e38)).is_ok());
}

#[test]
fn eps_0_is_refused_because_a_zero_gradient_would_divide_0_by_0() {
    let error = Adam::<f64>::new(AdamConfig::default().with_eps(0.0)).unwrap_err();
    assert_eq!(error.to_string(), "invalid eps: expected a finite number > 0, received eps=0");
}

#[test]
fn eps_that_rounds_to_0_in_f32_is_refused() {
    let error = Adam::<f32>::new(AdamConfig::default().with_eps(1e-50)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid eps: expected a number that stays above 0 in the element type, received eps=0.00000000000000000000000000000000000000000000000001"
    );
    assert!(Adam::<f64>::new(AdamConfig::default().with_eps(1e-50)).is_ok());
}
