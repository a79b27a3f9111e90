//! Adam against the paper's Algorithm 1 (the form PyTorch uses): P6 and P7 of
//! ../shared/cases/pitfalls.md; AdamW and SGD against PyTorch's documented update rules
//! (`torch.optim.AdamW`, `torch.optim.SGD`), worked by hand above each test.
//! tests/reference.rs holds the full trajectories computed by optax.

use ferronet::layers::{Dense, Layer};
use ferronet::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use ndarray::array;

/// A one-weight layer (its bias gets gradient 0 and stays 0).
fn scalar(w: f64) -> Dense<f64> {
    Dense::from_weights(array![[w]], array![0.0]).unwrap()
}

fn step_with(layer: &mut Dense<f64>, optimizer: &mut dyn Optimizer<f64>, grad: f64) -> f64 {
    layer.visit_params(&mut |p| p.grad.fill(if p.name.ends_with("weight") { grad } else { 0.0 }));
    optimizer.step(layer).unwrap();
    layer.weight().value[[0, 0]]
}

/// The weight after one step per gradient, from `w = 1`.
fn trajectory(optimizer: &mut dyn Optimizer<f64>, grads: &[f64]) -> Vec<f64> {
    let mut layer = scalar(1.0);
    grads.iter().map(|&g| step_with(&mut layer, optimizer, g)).collect()
}

fn assert_trajectory(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (t, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() < 1e-15, "step {}: got {a}, expected {e}", t + 1);
    }
}

fn sgd(config: SgdConfig) -> Sgd<f64> {
    Sgd::new(config).unwrap()
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
fn state_for_other_parameters_is_refused_by_every_optimizer() {
    let adam = Adam::new(AdamConfig::default()).unwrap();
    let momentum = sgd(SgdConfig::default().with_momentum(0.9));
    let optimizers: [Box<dyn Optimizer<f64>>; 2] = [Box::new(adam), Box::new(momentum)];
    for mut optimizer in optimizers {
        step_with(&mut scalar(1.0), optimizer.as_mut(), 1.0);
        let mut wider = Dense::<f64>::from_weights(array![[1.0, 2.0]], array![0.0, 0.0]).unwrap();
        let err = optimizer.step(&mut wider).unwrap_err();
        assert!(err.to_string().contains("dense.weight [1, 2]"), "{err}");
        assert_eq!(wider.weight().value, array![[1.0, 2.0]].into_dyn(), "nothing is updated on error");
    }
}

#[test]
fn learning_rate_must_be_finite_and_positive() {
    for lr in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
        let err = Adam::<f32>::new(AdamConfig::default().with_lr(lr)).unwrap_err();
        assert!(err.to_string().contains("lr"), "{err}");
    }
}

#[test]
fn weight_decay_must_be_finite_and_not_negative() {
    let err = Adam::<f32>::new(AdamConfig::default().with_weight_decay(-0.1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid weight_decay: expected a finite number >= 0, received weight_decay=-0.1"
    );
}

// AdamW (torch.optim.AdamW): p -= lr * wd * p, then the Adam step. With gradient 0 the Adam step
// is 0/(0 + eps) = 0, so only the decay acts: w_t = 0.25 * (1 - 1e-3 * 0.01)^t (adam.json, element 2).
#[test]
fn adamw_shrinks_a_parameter_with_zero_gradient_by_one_minus_lr_wd() {
    let mut layer = scalar(0.25);
    let mut adamw = Adam::new(AdamConfig::adamw()).unwrap();
    for t in 1..=3 {
        let w = step_with(&mut layer, &mut adamw, 0.0);
        assert!((w - 0.25 * (1.0 - 1e-5f64).powi(t)).abs() < 1e-16, "step {t}: {w}");
    }
}

// Step 1 with g = 1: m_hat = v_hat = 1, so the Adam step is lr / (1 + eps); the decay comes first
// and uses the weight before the step: 1 - 1e-3 * 0.01 * 1 - 1e-3 / (1 + 1e-8).
#[test]
fn adamw_decays_the_weight_before_the_adam_step() {
    let mut layer = scalar(1.0);
    let mut adamw = Adam::new(AdamConfig::adamw()).unwrap();
    let w = step_with(&mut layer, &mut adamw, 1.0);
    assert!((w - 0.99899000001).abs() < 1e-15, "{w}");
}

#[test]
fn adamw_leaves_the_moments_as_adam_has_them() {
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    let mut adamw = Adam::new(AdamConfig::adamw()).unwrap();
    trajectory(&mut adam, &[1.0, -0.5, 0.25]);
    trajectory(&mut adamw, &[1.0, -0.5, 0.25]);
    assert_eq!(adam.state()[0].m, adamw.state()[0].m);
    assert_eq!(adam.state()[0].v, adamw.state()[0].v);
}

// lr 0.1, no momentum: w = 1 - 0.1 * 1 = 0.9, then 0.9 - 0.1 * (-2) = 1.1.
#[test]
fn sgd_without_momentum_steps_against_the_gradient() {
    let mut plain = sgd(SgdConfig::default().with_lr(0.1));
    assert_trajectory(&trajectory(&mut plain, &[1.0, -2.0]), &[0.9, 1.1]);
    assert!(plain.state()[0].momentum_buffer.is_none(), "no buffer without momentum");
}

// torch.optim.SGD, lr 0.1, momentum 0.9, gradient 1 each step:
// buf = 1, 0.9 * 1 + 1 = 1.9, 0.9 * 1.9 + 1 = 2.71; w = 1 - 0.1, 0.9 - 0.19, 0.71 - 0.271.
#[test]
fn sgd_momentum_accumulates_a_buffer_starting_from_the_gradient() {
    let mut momentum = sgd(SgdConfig::default().with_lr(0.1).with_momentum(0.9));
    assert_trajectory(&trajectory(&mut momentum, &[1.0, 1.0, 1.0]), &[0.9, 0.71, 0.439]);
    let buffer = momentum.state()[0].momentum_buffer.as_ref().unwrap();
    assert!((buffer[[0, 0]] - 2.71).abs() < 1e-15);
}

// Dampening 0.5, momentum 0.9, lr 0.1, gradient 1: PyTorch copies the first gradient undamped,
// buf = 1 (not 0.5), then 0.9 * 1 + 0.5 * 1 = 1.4, then 0.9 * 1.4 + 0.5 = 1.76;
// w = 0.9, 0.9 - 0.14 = 0.76, 0.76 - 0.176 = 0.584.
#[test]
fn sgd_dampening_spares_the_first_step() {
    let mut damped = sgd(SgdConfig::default().with_lr(0.1).with_momentum(0.9).with_dampening(0.5));
    assert_trajectory(&trajectory(&mut damped, &[1.0, 1.0, 1.0]), &[0.9, 0.76, 0.584]);
}

// Nesterov, lr 0.1, momentum 0.9, gradient 1: buf as above (1, 1.9, 2.71), step g + 0.9 buf =
// 1.9, 2.71, 3.439; w = 1 - 0.19 = 0.81, 0.81 - 0.271 = 0.539, 0.539 - 0.3439 = 0.1951.
#[test]
fn sgd_nesterov_steps_along_the_gradient_plus_momentum_times_buffer() {
    let mut nesterov = sgd(SgdConfig::default().with_lr(0.1).with_momentum(0.9).with_nesterov(true));
    assert_trajectory(&trajectory(&mut nesterov, &[1.0, 1.0, 1.0]), &[0.81, 0.539, 0.1951]);
}

// A gradient that flips sign: buf = 1, then 0.9 * 1 - 1 = -0.1; w = 0.9, then 0.9 + 0.01 = 0.91.
#[test]
fn sgd_momentum_carries_the_old_direction_through_a_sign_flip() {
    let mut momentum = sgd(SgdConfig::default().with_lr(0.1).with_momentum(0.9));
    assert_trajectory(&trajectory(&mut momentum, &[1.0, -1.0]), &[0.9, 0.91]);
}

#[test]
fn sgd_hyper_parameters_are_checked_with_the_value_received() {
    let cases = [
        (SgdConfig::default().with_lr(-1.0), "invalid lr: expected a finite number > 0, received lr=-1"),
        (
            SgdConfig::default().with_momentum(1.0),
            "invalid momentum: expected a number in [0, 1), received momentum=1",
        ),
        (
            SgdConfig::default().with_dampening(1.5),
            "invalid dampening: expected a number in [0, 1], received dampening=1.5",
        ),
        (
            SgdConfig::default().with_nesterov(true),
            "invalid momentum: expected a number > 0 with nesterov, received momentum=0",
        ),
        (
            SgdConfig::default().with_momentum(0.9).with_dampening(0.1).with_nesterov(true),
            "invalid dampening: expected 0 with nesterov, received dampening=0.1",
        ),
    ];
    for (config, message) in cases {
        assert_eq!(Sgd::<f32>::new(config).unwrap_err().to_string(), message);
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

// A moment whose gradient has stopped decays by beta1 each step; 0.9 x the smallest subnormal
// rounds back to itself, so without a flush it would stay subnormal forever (and every
// operation on it costs a microcode assist on Intel processors).
#[test]
fn adam_flushes_a_moment_that_decays_below_the_smallest_normal_number_to_zero() {
    let mut layer = Dense::<f32>::from_weights(array![[0.25f32, 0.5]], array![0.0, 0.0]).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    adam.step(&mut layer).unwrap();
    let mut state = adam.state().to_vec();
    let smallest_subnormal = f32::from_bits(1);
    state[0].m = array![[smallest_subnormal, 2.0 * f32::MIN_POSITIVE]].into_dyn();
    state[0].v = array![[smallest_subnormal, 1.0]].into_dyn();
    adam.set_state(&mut layer, state).unwrap();
    assert_eq!(0.9 * smallest_subnormal, smallest_subnormal, "the trap the flush avoids");

    adam.step(&mut layer).unwrap();

    let weight_state = &adam.state()[0];
    assert_eq!(weight_state.m, array![[0.0f32, 0.9 * 2.0 * f32::MIN_POSITIVE]].into_dyn());
    assert_eq!(weight_state.v, array![[0.0f32, 0.999]].into_dyn());
    assert_eq!(layer.weight().value[[0, 0]], 0.25, "a zero moment moves nothing");
}

// A step count restored at the end of its range stays there: a wrap to 0 would divide the
// bias corrections by 1 - beta^0 = 0 and make every weight NaN.
#[test]
fn adams_step_count_saturates_instead_of_wrapping() {
    let mut layer = Dense::<f32>::from_weights(array![[0.25f32, 0.5]], array![0.0, 0.0]).unwrap();
    layer.visit_params(&mut |p| p.grad.fill(1.0));
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    adam.step(&mut layer).unwrap();
    let mut state = adam.state().to_vec();
    state.iter_mut().for_each(|s| s.step = u64::MAX);
    adam.set_state(&mut layer, state).unwrap();
    adam.step(&mut layer).unwrap();
    assert!(adam.state().iter().all(|s| s.step == u64::MAX));
    assert!(layer.weight().value.iter().all(|w| w.is_finite()), "{}", layer.weight().value);
}

// A restored state whose next step would make a weight NaN is refused before it is taken:
// a negative second moment (the square root of it is NaN), a first moment that is not finite.
#[test]
fn adam_refuses_a_state_with_a_negative_second_moment_or_a_non_finite_first() {
    let mut layer = Dense::<f32>::from_weights(array![[0.25f32, 0.5]], array![0.0, 0.0]).unwrap();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    adam.step(&mut layer).unwrap();
    for (moment, value) in [("v", -1.0f32), ("m", f32::INFINITY), ("v", f32::NAN)] {
        let mut state = adam.state().to_vec();
        let target = if moment == "m" { &mut state[1].m } else { &mut state[1].v };
        target[[1]] = value;
        let error = adam.set_state(&mut layer, state).unwrap_err();
        assert!(
            error.to_string().contains(&format!("dense.bias {moment} holds {value:?} at element 1")),
            "{error}"
        );
    }
}

#[test]
fn adamw_refuses_a_decay_factor_outside_zero_to_one() {
    assert!(Adam::<f32>::new(AdamConfig::adamw().with_lr(0.01).with_weight_decay(100.0)).is_ok());
    for (lr, weight_decay) in [(0.01, 100.5), (1e-3, 1e300)] {
        let error =
            Adam::<f32>::new(AdamConfig::adamw().with_lr(lr).with_weight_decay(weight_decay)).unwrap_err();
        assert!(matches!(error, ferronet::Error::Config { name: "weight_decay", .. }), "{error:?}");
    }
}
